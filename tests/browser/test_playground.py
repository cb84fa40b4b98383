"""LangServe's playground renders in Chromium, signs a person in, and runs one turn."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.api.live import LiveServer

pytestmark = pytest.mark.integration

QUESTION = "Top 5 customers by revenue in 2025?"


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
        page.locator("select").first.select_option(label="Human")
        page.locator("textarea:not([id])").first.fill(QUESTION)
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
