"""Running `bizsql eval` as a user would, against the test servers and a stub Mistral server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from bizsql.cli import app
from bizsql.config import Settings
from tests.support.eval_stub import GoldenStub


def run_eval(seeded: Settings, stub: GoldenStub, out: Path, *args: str) -> dict[str, Any]:
    """One CLI run (no API key: the base URL alone is enough for a local server): its JSON report, with
    the Markdown report under ``_markdown`` and the printed output under ``_output``."""
    assert seeded.postgres_url and seeded.mongo_url and seeded.redis_url and seeded.role_secret
    env = {
        "BIZSQL_POSTGRES_URL": seeded.postgres_url,
        "BIZSQL_MONGO_URL": seeded.mongo_url,
        "BIZSQL_REDIS_URL": seeded.redis_url,
        "BIZSQL_MONGO_DB": seeded.mongo_db,
        "BIZSQL_ROLE_SECRET": seeded.role_secret.get_secret_value(),
        "BIZSQL_JWT_SECRET": seeded.secret_values()[0],
        "BIZSQL_DATA_DIR": str(seeded.data_dir),
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
