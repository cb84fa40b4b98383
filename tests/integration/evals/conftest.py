"""Running `bizsql eval` as a user would, against the test servers and a stub Mistral server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bizsql.cli import app
from bizsql.config import Settings
from tests.support.eval_stub import GoldenScript, GoldenStub
from tests.support.servers import servers_env


@pytest.fixture(scope="module")
def stub(script: GoldenScript) -> Iterator[GoldenStub]:
    """The stub Mistral server, answering as the test module's ``script`` fixture says."""
    server = GoldenStub(script)
    server.start()
    yield server
    server.stop()


def run_eval(seeded: Settings, stub: GoldenStub, out: Path, *args: str) -> dict[str, Any]:
    """One CLI run (no API key: the base URL alone is enough for a local server): its JSON report, with
    the Markdown report under ``_markdown`` and the printed output under ``_output``."""
    env = {
        **servers_env(seeded),
        "BIZSQL_LLM_ATTEMPTS": "1",
        "COLUMNS": "240",
        "MISTRAL_BASE_URL": stub.url,
        "MISTRAL_API_KEY": None,
        "BIZSQL_MISTRAL_API_KEY": None,
    }
    result = CliRunner().invoke(app, ["eval", *args, "--out", str(out)], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert stub.unexpected == [], stub.unexpected
    (json_path,) = out.glob("eval-*.json")
    (md_path,) = out.glob("eval-*.md")
    data: dict[str, Any] = json.loads(json_path.read_text())
    data["_markdown"] = md_path.read_text()
    data["_output"] = result.output
    return data
