"""docs/api.md's curl session, run for real: every sample block shows what its command printed.

Each ``<!-- sample: NAME -->`` block in docs/api.md holds one curl command and its output. This test runs
the commands in the order the page gives them, against the app over the seeded demo data, and fails if a
shown output differs from this run's. The turns that need an LLM get the stub Mistral server, scripted in
``STUB_LLM`` below; all others must not call it.

After a change that alters an output (or to add a sample: write the command block, leave out the output),
rewrite the blocks with:

    BIZSQL_WRITE_DOC_SAMPLES=1 .venv/bin/pytest tests/integration/api/test_docs_samples.py
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from bizsql.config import Settings
from bizsql.demo import DEMO_BUSINESSES
from bizsql.demo.seed import upsert_configs, upsert_users
from bizsql.stores.mongo import ensure_indexes, mongo_client
from tests.integration.api.conftest import PASSWORD, serve
from tests.support.doc_samples import Printed, Session, read_samples, run_curl, sse_events, write_outputs
from tests.support.stub_mistral import Script, StubMistral, text, tool

pytestmark = pytest.mark.integration

DOC = Path(__file__).resolve().parents[3] / "docs" / "api.md"
WRITE = os.environ.get("BIZSQL_WRITE_DOC_SAMPLES") == "1"
TEXAS_SQL = """SELECT c.id, c.name, c.city, sum(o.total) AS revenue
FROM orders o
JOIN customers c ON c.id = o.customer_id
WHERE o.status IN ('shipped', 'delivered') AND c.state = 'TX'
  AND o.order_date >= DATE '2025-01-01' AND o.order_date < DATE '2026-01-01'
GROUP BY c.id, c.name, c.city
ORDER BY revenue DESC, c.id
LIMIT 5"""
PLAN_QUESTION = "Which 2 stores took the most orders in 2025, and how many people work at each?"
BUSIEST_SQL = """SELECT s.id, s.name, count(*) AS orders
FROM orders o
JOIN stores s ON s.id = o.store_id
WHERE o.order_date >= DATE '2025-01-01' AND o.order_date < DATE '2026-01-01'
GROUP BY s.id, s.name
ORDER BY orders DESC, s.id
LIMIT 2"""


def staff_sql(store_ids: list[str]) -> str:
    return (
        "SELECT e.store_id, count(*) AS employees\nFROM employees e\n"
        f"WHERE e.store_id IN ({', '.join(store_ids)})\nGROUP BY e.store_id\nORDER BY e.store_id"
    )


def first_column(request: dict[str, Any]) -> list[str]:
    """What the model reads off the earlier step's rows in its prompt: the store ids."""
    block = request["messages"][0]["content"].split("id | name | orders", 1)[1].split("</data>", 1)[0]
    return [line.split(" | ", 1)[0] for line in block.strip().splitlines() if " | " in line]


NOTE_SQL = "UPDATE orders SET notes = 'ring twice' WHERE id = 4242 RETURNING id, status, notes"
NOTED_ORDER = 4242
RESUMED = frozenset({"approve"})
"""Samples that resume a turn the stub answered: the turn's usage is the stub's again, with no new call."""
# the stub counts 4 characters a token, and prompts vary a little (table statistics), so no count is shown
STUB_USAGE = {"input_tokens": "<stub count>", "output_tokens": "<stub count>"}
STUB_LLM: dict[str, list[Script]] = {
    "follow-up": [
        tool(
            "Classification",
            intent="database",
            standalone_question="Top 5 customers in Texas by revenue in 2025?",
        ),
        tool(
            "SqlDraft",
            sql=TEXAS_SQL,
            confidence=0.86,
            explanation="Revenue per Texas customer over shipped and delivered orders of 2025.",
        ),
        text("Sophia Hall of Houston brought in the most revenue in Texas in 2025."),
    ],
    "plan-stream": [
        tool("Classification", intent="database", standalone_question=PLAN_QUESTION, needs_plan=True),
        tool(
            "PlanDraft",
            steps=[
                {"question": "The 2 stores with the most orders in 2025", "uses": []},
                {"question": "The number of employees of each store of step 1", "uses": [1]},
            ],
        ),
        tool("SqlDraft", sql=BUSIEST_SQL, confidence=0.9, explanation="The 2 stores with most 2025 orders."),
        lambda request: tool(
            "SqlDraft",
            sql=staff_sql(first_column(request)),
            confidence=0.85,
            explanation="Employees of the two stores.",
        ),
        text(
            "Acme Online took the most orders in 2025 (9,095) and has 11 employees; "
            "Acme New York took 2,004 and has 23."
        ),
    ],
    "write": [
        tool("Classification", intent="database", standalone_question="Note 'ring twice' on order 4242"),
        tool(
            "SqlDraft",
            sql=NOTE_SQL,
            confidence=0.9,
            explanation="Sets the delivery note of order 4242.",
        ),
    ],
}


def turn_errors(response: httpx.Response) -> list[Any]:
    """A chat turn that answered 200 but failed (a database or LLM error) is no sample to show."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        events = sse_events(response.text)
        return [data for event, data in events if event == "error" or (event == "final" and data["error"])]
    body = response.json() if response.headers.get("content-type") == "application/json" else None
    return [body["error"]] if isinstance(body, dict) and "intent" in body and body["error"] else []


@pytest.fixture
def fresh_users(api_settings: Settings) -> Iterator[Settings]:
    """The suite's servers with a MongoDB database of their own, as a new machine's seed leaves it: the
    demo users have no threads yet, and no other test's config change is seen."""
    settings = api_settings.model_copy(update={"mongo_db": f"{api_settings.mongo_db}_docs"})
    assert settings.mongo_url
    with mongo_client(settings.mongo_url) as client:
        client.drop_database(settings.mongo_db)
        db = client[settings.mongo_db]
        ensure_indexes(db)
        upsert_configs(db, DEMO_BUSINESSES)
        upsert_users(db, PASSWORD)
        yield settings
        client.drop_database(settings.mongo_db)


@pytest.fixture
def noted_order(api_settings: Settings) -> Iterator[None]:
    """The session approves a write to one order: its seeded note comes back afterwards."""
    assert api_settings.postgres_url
    url = make_conninfo(api_settings.postgres_url, dbname="acme_retail")
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT notes FROM orders WHERE id = %s", (NOTED_ORDER,)).fetchone()
        yield
        conn.execute("UPDATE orders SET notes = %s WHERE id = %s", (row[0] if row else None, NOTED_ORDER))


async def test_the_curl_session_in_the_api_docs_prints_what_the_docs_show(
    fresh_users: Settings, llm: StubMistral, noted_order: None
) -> None:
    doc = DOC.read_text(encoding="utf-8")
    samples = read_samples(doc)
    assert set(STUB_LLM) <= {s.name for s in samples}, "a scripted sample is missing from the docs"
    session = Session()
    outputs: dict[str, Printed] = {}
    async with serve(fresh_users, ip="10.254.0.1") as client:
        for sample in samples:
            llm.script(*STUB_LLM.get(sample.name, []))
            session.masked_keys = STUB_USAGE if sample.name in STUB_LLM or sample.name in RESUMED else {}
            asked = len(llm.requests)
            response, outputs[sample.name] = await run_curl(client, session, sample.command)
            assert response.status_code < 500, (sample.name, response.text)
            assert not turn_errors(response), f"{sample.name}: the turn failed: {turn_errors(response)}"
            assert (llm.pending, llm.unexpected) == (0, []), f"{sample.name}: the LLM was asked otherwise"
            if sample.name not in STUB_LLM:
                assert len(llm.requests) == asked, f"{sample.name} needed the LLM"
    if WRITE:  # read again: the page may have been edited elsewhere while the session ran
        fresh = DOC.read_text(encoding="utf-8")
        assert [s.name for s in read_samples(fresh)] == list(outputs), "the samples changed meanwhile"
        DOC.write_text(write_outputs(fresh, outputs), encoding="utf-8")
        return
    rendered = write_outputs(doc, outputs)
    diff = "".join(
        difflib.unified_diff(doc.splitlines(True), rendered.splitlines(True), "docs/api.md", "this run")
    )
    assert not diff, f"docs/api.md shows other outputs than this run; see this test's docstring\n{diff}"
