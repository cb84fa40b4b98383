"""A real Chromium (Debian's package) driven by Playwright for Python, against a real `bizsql serve`.

Playwright's own browser download cannot run here, so the system Chromium is launched by path
(``BIZSQL_CHROMIUM``, else ``chromium`` on the PATH). Without one the tests are skipped and say why:
`apt-get install -y chromium` (``.ci/run`` does it).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bizsql.config import Settings
from tests.integration.api.live import LiveServer, live_server, server_env
from tests.support.stub_mistral import StubMistral

CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
"""Headless, and quiet: without the networking flags Chromium keeps calling hosts this machine cannot
reach."""


def chromium_path() -> str | None:
    return os.environ.get("BIZSQL_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Per module: Playwright's sync API keeps an event loop running in this thread while it is open,
    and the async tests that follow need the thread's loop to themselves."""
    executable = chromium_path()
    if executable is None:
        pytest.skip("no Chromium: `apt-get install -y chromium`, or set BIZSQL_CHROMIUM to its path")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright is not installed (pip install -e '.[dev]')"
    )
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def live(
    seeded: Settings, stub_llm: StubMistral, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    data_dir = Path(tmp_path_factory.mktemp("browser-data"))
    env = server_env(
        seeded,
        data_dir,
        MISTRAL_API_KEY="stub-key",
        MISTRAL_BASE_URL=stub_llm.url,
        BIZSQL_LLM_ATTEMPTS="1",
    )
    with live_server(env, data_dir / "serve.log") as server:
        yield server
