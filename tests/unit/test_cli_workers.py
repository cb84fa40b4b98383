"""`bizsql serve --workers N`: a bad count is refused before anything starts, and a worker's settings,
read from the environment the parent exports, name the parent's servers and secrets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bizsql.cli import app
from bizsql.cli.workers import exported, worker_environment
from bizsql.config import SECRET_FILE, Settings


@pytest.mark.parametrize("count", ["0", "-2"])
def test_a_worker_count_below_one_is_a_usage_error(count: str) -> None:
    result = CliRunner().invoke(app, ["serve", "--workers", count], env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert "Invalid value for '--workers'" in result.stderr
    assert "greater than or equal to 1" in result.stderr


def test_a_worker_has_the_parents_servers_and_generated_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in [v for v in os.environ if v.startswith("BIZSQL_")]:
        monkeypatch.delenv(variable)
    monkeypatch.chdir(tmp_path)
    resolved = Settings(
        data_dir=Path("data"),
        postgres_url="postgresql://postgres@127.0.0.1:1/postgres",
        redis_url="redis://127.0.0.1:2/0",
        mongo_url="mongodb://127.0.0.1:3/?directConnection=true",
    )
    variables = worker_environment(resolved)
    assert (tmp_path / "data" / SECRET_FILE).exists(), "generated in the parent, before any worker starts"
    with exported(variables):
        worker = Settings()
    assert "BIZSQL_JWT_SECRET" not in os.environ, "the parent's own environment is left as it was"
    assert worker.model_dump(include={"postgres_url", "redis_url", "mongo_url"}) == resolved.model_dump(
        include={"postgres_url", "redis_url", "mongo_url"}
    )
    assert worker.secret_values() == resolved.secret_values()
    assert worker.data_dir == (tmp_path / "data").resolve()
