"""The chat page at / in a real Chromium, against a real `bizsql serve` and the stub Mistral server.

Each test signs a person in as they would, by typing, and checks what they see. Set
``BIZSQL_SAVE_SCREENSHOTS=1`` to write the README's screenshots into docs/screenshots/.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from bizsql.config import Settings
from tests.integration.api.conftest import rows_of, verified_question
from tests.integration.api.live import LiveServer
from tests.support.stub_mistral import StubMistral, text, tool

pytestmark = pytest.mark.integration

PASSWORD = "demo-pass-123"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
STATE_SQL = (
    "SELECT state, count(*) AS customers FROM customers GROUP BY state ORDER BY customers DESC, state LIMIT 8"
)
MARKUP = '<img src=x onerror="window.__pwned=1">'
STORE = "bizsql.session"


class Visit:
    """One browser tab on the page, collecting every console error and script error it shows."""

    def __init__(self, browser: Any, live: LiveServer, width: int = 1200) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": 900})
        self.page = self.context.new_page()
        self.live = live
        self.problems: list[str] = []
        self.refusals_expected = False
        """A test that makes the server refuse the page sets this: Chromium logs each 4xx as an error."""
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("console", self._on_console)

    def _on_console(self, message: Any) -> None:
        refusal = message.text.startswith("Failed to load resource: the server responded with a status of 4")
        if message.type == "error" and not (refusal and self.refusals_expected):
            self.problems.append(f"console: {message.text}")

    def session(self) -> dict[str, Any] | None:
        """What the page keeps in ``sessionStorage``: its tokens and user, or None when signed out."""
        stored: dict[str, Any] | None = self.page.evaluate(f"JSON.parse(sessionStorage.getItem({STORE!r}))")
        return stored

    def sign_in(self, username: str, password: str = PASSWORD) -> None:
        self.page.goto(f"{self.live.url}/")
        self.page.get_by_label("Username").fill(username)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.locator("#chat-view").wait_for(state="visible")

    def ask(self, question: str) -> Any:
        """Type the question, press Enter, and wait for the answer to be complete."""
        before = self.page.locator("article.msg.assistant:not(.pending)").count()
        self.page.get_by_label("Your question").fill(question)
        self.page.get_by_label("Your question").press("Enter")
        answer = self.page.locator("article.msg.assistant:not(.pending)").nth(before)
        answer.wait_for(timeout=90_000)
        return answer

    def table_rows(self, answer: Any) -> list[list[str]]:
        rows = answer.locator("tbody tr")
        return [rows.nth(i).locator("td").all_inner_texts() for i in range(rows.count())]

    def save(self, name: str, **options: Any) -> bytes:
        shot: bytes = self.page.screenshot(**options)
        if os.environ.get("BIZSQL_SAVE_SCREENSHOTS"):
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            (SCREENSHOTS / f"{name}.png").write_bytes(shot)
        return shot

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visit(browser: Any, live: LiveServer) -> Iterator[Any]:
    opened: list[Visit] = []

    def open_visit(width: int = 1200) -> Visit:
        opened.append(Visit(browser, live, width))
        return opened[-1]

    yield open_visit
    problems = [p for v in opened for p in v.problems]
    for v in opened:
        v.close()
    assert problems == [], problems  # a CSP violation is a console error too


def shown(value: Any) -> str:
    """A value as the page's table shows it."""
    return "∅" if value is None else str(value)


def distinct_colours(png: bytes) -> int:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    return len(set(image.getdata()))


def test_alice_signs_in_and_a_verified_question_shows_its_rows_and_sql(
    visit: Any, seeded: Settings, llm: StubMistral
) -> None:
    tab = visit()
    tab.page.goto(f"{tab.live.url}/")
    tab.page.get_by_label("Username").wait_for()
    tab.save("login")
    tab.sign_in("alice")
    verified = verified_question("acme_retail", 1)
    answer = tab.ask(verified.question)
    expected = [[shown(v) for v in row] for row in rows_of(seeded, "acme_retail", verified.sql)]
    assert tab.table_rows(answer) == expected and expected
    assert "Source: verified query" in answer.inner_text()
    assert "Confidence: 100 %" in answer.inner_text()
    answer.locator("summary", has_text="SQL").click()
    assert answer.locator("pre code").inner_text() == verified.sql
    assert llm.requests == []  # a verified answer needs no LLM
    tab.save("sql", full_page=True)

    answer.get_by_role("button", name="revenue: sort").click()  # sort by revenue, ascending
    revenues = [float(row[-1]) for row in tab.table_rows(answer)]
    assert revenues == sorted(revenues)
    assert answer.locator("th", has_text="revenue").get_attribute("aria-sort") == "ascending"

    with tab.page.expect_download() as download:
        answer.get_by_role("button", name="Download CSV").click()
    lines = Path(download.value.path()).read_text().splitlines()
    assert lines[0] == ",".join(answer.locator("thead th").all_inner_texts())
    assert len(lines) == len(expected) + 1
    assert [line.split(",")[-1] for line in lines[1:]] == [row[-1] for row in tab.table_rows(answer)]


def test_a_generated_answer_streams_its_progress_and_draws_its_chart(visit: Any, llm: StubMistral) -> None:
    question = "How many customers live in each state, for the top 8 states?"
    llm.script(
        tool("Classification", intent="database", standalone_question=question),
        tool("SqlDraft", sql=STATE_SQL, confidence=0.82, explanation="Customers per state."),
        text("California has the most customers, then Texas and New York."),
    )
    tab = visit()
    tab.sign_in("alice")
    answer = tab.ask(question)
    steps = answer.locator(".trace li").evaluate_all("items => items.map(li => li.dataset.node)")
    for node in ("classify", "retrieve_schema", "generate_sql", "validate", "execute", "respond"):
        assert node in steps, steps
    assert steps.index("generate_sql") < steps.index("execute") < steps.index("respond")
    assert "California has the most customers" in answer.locator(".summary").inner_text()
    assert "Source: generated" in answer.inner_text() and "Confidence: 82 %" in answer.inner_text()
    chart = answer.locator("figure.chart")
    chart.locator("canvas, svg").first.wait_for(timeout=30_000)
    assert chart.get_attribute("data-drawn") == "true"
    picture: bytes = chart.screenshot()
    assert distinct_colours(picture) > 20, "the chart is blank"
    assert len(tab.table_rows(answer)) == 8
    tab.save("chat", full_page=True)


def test_bob_does_not_see_alices_conversations(visit: Any, live: LiveServer, llm: StubMistral) -> None:
    alice = visit()
    alice.sign_in("alice")
    alice.ask(verified_question("acme_retail", 0).question)
    alices_thread = alice.page.locator("#thread-list li").first.get_attribute("data-thread")
    assert alices_thread

    bob = visit()
    bob.sign_in("bob")
    bob.page.locator("#thread-list").wait_for(state="attached")
    listed = bob.page.locator("#thread-list li").evaluate_all("items => items.map(li => li.dataset.thread)")
    assert alices_thread not in listed
    token = bob.session()["access"]
    status = httpx.get(
        f"{live.url}/conversations/{alices_thread}", headers={"Authorization": f"Bearer {token}"}
    ).status_code
    assert status == 404


def test_markup_in_rows_and_answers_is_shown_as_text_and_never_runs(visit: Any, llm: StubMistral) -> None:
    question = "Show the product names with a label"
    sql = f"SELECT name, '{MARKUP}' AS label FROM products ORDER BY id LIMIT 3"
    llm.script(
        tool("Classification", intent="database", standalone_question=question),
        tool("SqlDraft", sql=sql, confidence=0.7, explanation="Labels."),
        text(f"Here they are <script>window.__pwned=2</script>{MARKUP}"),
    )
    tab = visit()
    tab.sign_in("alice")
    answer = tab.ask(question)
    assert [row[1] for row in tab.table_rows(answer)] == [MARKUP] * 3
    assert MARKUP in answer.locator(".summary").inner_text()
    assert answer.locator("img, script").count() == 0
    tab.page.wait_for_timeout(300)  # an onerror handler would have run by now
    assert tab.page.evaluate("window.__pwned") is None


def test_signing_out_ends_the_session_in_the_page_and_on_the_server(
    visit: Any, live: LiveServer, llm: StubMistral
) -> None:
    tab = visit()
    tab.sign_in("carol")
    token = tab.session()["access"]
    assert httpx.get(f"{live.url}/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    tab.page.get_by_role("button", name="Sign out").click()
    tab.page.locator("#login-view").wait_for(state="visible")
    assert tab.session() is None
    assert "You are signed out." in tab.page.locator("#login-error").inner_text()
    tab.page.reload()
    tab.page.locator("#login-view").wait_for(state="visible")
    assert tab.page.locator("#chat-view").is_hidden()
    assert httpx.get(f"{live.url}/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


SPILL = """() => [...document.querySelectorAll("body *")]
    .filter((node) => node.offsetParent !== null && !node.closest(".table-wrap, pre, .chart"))
    .filter((node) => node.getBoundingClientRect().right > window.innerWidth + 1)
    .map((node) => node.tagName + "." + node.className)"""
"""What sticks out past the viewport's right edge (what scrolls inside its own box, a table or the SQL,
may be wider)."""


def test_a_phone_wide_screen_has_no_horizontal_scroll(visit: Any, llm: StubMistral) -> None:
    tab = visit(width=375)
    tab.sign_in("alice")
    answer = tab.ask(verified_question("acme_retail", 1).question)  # five columns of rows
    answer.locator("summary", has_text="SQL").click()
    widths = "[document.documentElement.scrollWidth, window.innerWidth]"
    assert tab.page.evaluate(widths) == [375, 375]
    assert tab.page.evaluate(SPILL) == []
    answer.scroll_into_view_if_needed()
    tab.save("phone")
    tab.page.get_by_role("button", name="Conversations").click()  # the list opens above the chat
    assert tab.page.get_by_role("button", name="New conversation").is_visible()
    assert tab.page.evaluate(widths) == [375, 375]
    assert tab.page.evaluate(SPILL) == []


def test_the_page_and_its_files_carry_a_strict_policy(live: LiveServer) -> None:
    for path in ("/", "/static/js/app.js", "/static/vendor/vega.min.js"):
        response = httpx.get(f"{live.url}{path}")
        assert response.status_code == 200, path
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert response.headers["x-content-type-options"] == "nosniff"
    page = httpx.get(f"{live.url}/").text
    assert re.findall(r"<script(?![^>]*\bsrc=)", page) == [], "an inline script"
    assert "style=" not in page and "<style" not in page
    assert re.findall(r"(?:src|href)=\"(?:https?:)?//", page) == [], "a file from another host"


def test_the_page_refreshes_its_token_before_it_expires(
    visit: Any, live: LiveServer, llm: StubMistral
) -> None:
    tab = visit()
    tab.page.clock.install()  # the page's timers run on a clock the test moves; the server's is real
    tab.sign_in("dave")
    first = tab.session()
    assert first is not None
    tab.page.clock.run_for("01:58:30")  # two hours, less the two minutes the page refreshes early
    second = first
    for _ in range(100):  # wait_for_function would evaluate a string, which the page's CSP refuses
        second = tab.session() or first
        if second["access"] != first["access"]:
            break
        tab.page.wait_for_timeout(150)
    assert second["access"] != first["access"], "the page did not refresh its token"
    assert second["refresh"] != first["refresh"]
    renewed = httpx.post(f"{live.url}/auth/refresh", json={"refresh_token": second["refresh"]})
    assert renewed.status_code == 200, "the page's new refresh token is live"


def test_a_session_ended_elsewhere_goes_back_to_sign_in(
    visit: Any, live: LiveServer, llm: StubMistral
) -> None:
    tab = visit()
    tab.refusals_expected = True
    tab.sign_in("dave")
    token = tab.session()["access"]
    assert (
        httpx.post(f"{live.url}/auth/logout", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    )
    tab.page.get_by_label("Your question").fill("Anything")
    tab.page.get_by_label("Your question").press("Enter")
    tab.page.locator("#login-view").wait_for(state="visible")
    assert "session has ended" in tab.page.locator("#login-error").inner_text()
    assert tab.session() is None


def test_a_refused_question_says_why(visit: Any, llm: StubMistral) -> None:
    llm.script(
        tool("Classification", intent="database", standalone_question="Drop the orders table"),
        tool("SqlDraft", sql="DROP TABLE orders", confidence=0.9, explanation="Drops orders."),
    )
    tab = visit()
    tab.sign_in("alice")
    answer = tab.ask("Drop the orders table")
    said = answer.inner_text()
    assert "can't run that query: DROP is not allowed" in said
    assert answer.locator("table").count() == 0 and "Confidence" not in said  # nothing was answered
    answer.locator("summary", has_text="SQL").click()
    assert answer.locator("pre code").inner_text() == "DROP TABLE orders"  # what was refused, to read


def test_an_admin_picks_the_business_and_its_verified_questions(
    visit: Any, seeded: Settings, llm: StubMistral
) -> None:
    tab = visit()
    tab.sign_in("admin")
    picker = tab.page.get_by_label("Business")
    options = picker.locator("option").all_inner_texts()
    assert options[0] == "No business (general chat)" and len(options) == 4
    picker.select_option("city_clinic")
    verified = verified_question("city_clinic", 0)
    chip = tab.page.locator(".chip", has_text=verified.question)
    chip.click()  # the suggestions are the picked business's verified questions
    answer = tab.page.locator("article.msg.assistant:not(.pending)").first
    answer.wait_for(timeout=90_000)
    expected = [[shown(v) for v in row] for row in rows_of(seeded, "city_clinic", verified.sql)]
    assert tab.table_rows(answer) == expected and expected


def test_too_many_failed_sign_ins_say_when_to_try_again(visit: Any, live: LiveServer) -> None:
    tab = visit()
    tab.refusals_expected = True
    tab.page.goto(f"{live.url}/")
    said = []
    for _ in range(6):  # five failures a minute for one username, then 429 with Retry-After
        tab.page.get_by_label("Username").fill("nobody-browser")
        tab.page.get_by_label("Password").fill("wrong-password")
        tab.page.get_by_role("button", name="Sign in").click()
        tab.page.locator("#login-error:not([hidden])").wait_for()
        tab.page.wait_for_function("() => !document.querySelector('#login-form button').disabled")
        said.append(tab.page.locator("#login-error").inner_text())
    assert said[:5] == ["Wrong username or password."] * 5
    assert said[5].startswith("Too many requests: too many failed logins")
    assert re.search(r"Try again in \d+ s\.$", said[5]), said[5]


def test_a_planned_answer_shows_its_plan_while_it_runs_and_a_block_per_step(
    visit: Any, llm: StubMistral, seeded: Settings
) -> None:
    from tests.support import plan_script

    llm.script(*plan_script.planned())
    tab = visit()
    tab.sign_in("alice")
    answer = tab.ask(plan_script.QUESTION)
    blocks = answer.locator("section.step")
    assert blocks.count() == 3
    titles = blocks.locator("h3").all_inner_texts()
    questions = [plan_script.TOP_STORES, plan_script.STAFF, plan_script.STAFF_OF_TOP]
    assert titles == [f"Step {n}: {q}" for n, q in enumerate(questions, start=1)]
    top = rows_of(seeded, "acme_retail", plan_script.TOP_STORES_SQL)
    assert [row[1] for row in tab.table_rows(blocks.nth(0))] == [str(row[1]) for row in top]
    third_sql = blocks.nth(2).locator("pre").text_content()
    assert third_sql == plan_script.staff_of([row[0] for row in top]), "step 3 built from step 1's ids"
    assert (
        answer.locator(".summary").inner_text()
        == "The three biggest stores have between 10 and 20 staff each."
    )
    nodes = answer.locator(".trace li").evaluate_all("items => items.map(li => li.dataset.node)")
    assert "plan" in nodes and "combine" in nodes
    tab.save("plan", full_page=True)


def test_an_editor_approves_a_write_in_the_page_and_it_runs_once(
    visit: Any, llm: StubMistral, seeded: Settings
) -> None:
    import psycopg
    from psycopg.conninfo import make_conninfo

    question = "Note 'call first' on order 4310"
    sql = "UPDATE orders SET notes = 'call first' WHERE id = 4310"
    assert seeded.postgres_url
    url = make_conninfo(seeded.postgres_url, dbname="acme_retail")
    with psycopg.connect(url, autocommit=True) as conn:
        (before,) = conn.execute("SELECT notes FROM orders WHERE id = 4310").fetchone() or (None,)
        try:
            llm.script(
                tool("Classification", intent="database", standalone_question=question),
                tool("SqlDraft", sql=sql, confidence=0.9, explanation="The note on order 4310."),
            )
            tab = visit()
            tab.sign_in("dave")
            pending = tab.ask(question)
            box = pending.get_by_role("group", name="Approve this write")
            said = pending.locator(".summary").inner_text()
            assert "would change 1 row(s)" in said and "Nothing has changed yet" in said
            assert pending.locator("details.sql").get_attribute("open") is not None, "the SQL is shown open"
            assert "Run it?" in box.inner_text()
            assert conn.execute("SELECT notes FROM orders WHERE id = 4310").fetchone() == (before,)
            tab.save("approval")
            box.get_by_role("button", name="Approve and run").click()
            done = tab.page.locator("article.msg.assistant").last
            done.get_by_text("1 row(s) changed").wait_for(timeout=30_000)
            assert done.get_by_role("button", name="Approve and run").count() == 0
            assert conn.execute("SELECT notes FROM orders WHERE id = 4310").fetchone() == ("call first",)
        finally:
            conn.execute("UPDATE orders SET notes = %s WHERE id = 4310", (before,))
