"""LangServe's playground renders in Chromium, signs a person in, and runs one turn."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.api.live import LiveServer

pytestmark = pytest.mark.integration

QUESTION = "Top 5 customers by revenue in 2025?"


def fill_until_accepted(page: Any, field: Any, text: str, tries: int = 5) -> None:
    """Type the message until the form takes it: on a loaded machine the playground may still be
    re-rendering its form (from the schemas) when the first text goes in, and then drops it."""
    from playwright.sync_api import expect  # the browser fixture skips when Playwright is missing

    start = page.get_by_role("button", name="Start")
    for _ in range(tries):
        field.wait_for()
        field.fill(text)
        try:
            expect(start).to_be_enabled(timeout=3_000)
            return
        except AssertionError:
            continue
    raise AssertionError(f"the playground's Start button stayed disabled after {tries} tries")


def test_the_playground_signs_in_renders_and_runs_a_verified_turn(
    browser: Any, live: LiveServer, tmp_path: Any
) -> None:
    page = browser.new_page(viewport={"width": 1100, "height": 1400})
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        page.goto(f"{live.url}/graph/playground/")
        assert page.url.endswith("/graph/playground-login"), "without a session the browser signs in first"
        page.fill("#username", "alice")
        page.fill("#password", "demo-pass-123")
        page.click("button[type=submit]")
        page.wait_for_url("**/graph/playground/")
        page.get_by_text("Configurable").wait_for()
        page.wait_for_load_state("networkidle")  # the forms are built from schemas fetched after load
        page.locator("select").first.select_option(label="Human")
        fill_until_accepted(page, page.locator("textarea:not([id])").first, QUESTION)
        page.get_by_role("button", name="Start").click()
        output = page.get_by_text('"row_count": 5').first
        output.wait_for(timeout=60_000)
        text = page.inner_text("body")
        shot = tmp_path / "playground.png"
        page.screenshot(path=str(shot), full_page=True)
    finally:
        page.close()
    assert problems == [], problems  # e.g. 'Unknown type: {"type":"null"}' from the config form
    assert '"source": "verified"' in text and "Kevin Martin" in text
    assert shot.stat().st_size > 20_000, "the screenshot is blank"
