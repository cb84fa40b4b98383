"""`bizsql env` with nothing running says so on stderr and exits 1; configured URLs are printed as is."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bizsql.cli import app
from bizsql.config import get_settings

URL_VARIABLES = ("BIZSQL_POSTGRES_URL", "BIZSQL_REDIS_URL", "BIZSQL_MONGO_URL", "BIZSQL_MONGO_DB")


@pytest.fixture
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A data directory where nothing runs, and no server URL in the environment."""
    for variable in (*URL_VARIABLES, "BIZSQL_JWT_SECRET", "BIZSQL_ROLE_SECRET"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("BIZSQL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "400")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def exports(stdout: str) -> dict[str, str]:
    pairs = [shlex.split(line)[1] for line in stdout.splitlines() if line.startswith("export ")]
    return dict(pair.split("=", 1) for pair in pairs)


def test_with_nothing_running_it_says_so_on_stderr_and_exits_1(environment: Path) -> None:
    result = CliRunner().invoke(app, ["env"])
    assert result.exit_code == 1
    assert result.stdout == ""
    said = " ".join(result.stderr.split())
    assert f"no bizsql servers are running for the data directory {environment.resolve()}" in said
    assert "start `bizsql serve`" in said
    assert not (environment / "embedded").exists()  # it starts nothing and writes nothing


def test_configured_urls_are_printed_as_they_are(environment: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    urls = {
        "BIZSQL_POSTGRES_URL": "postgresql://postgres:pw@db.example:5432/postgres?sslmode=require&x=1",
        "BIZSQL_REDIS_URL": "redis://cache.example:6379/2",
        "BIZSQL_MONGO_URL": "mongodb://mongo.example:27017/shop",
    }
    for variable, url in urls.items():
        monkeypatch.setenv(variable, url)
    result = CliRunner().invoke(app, ["env"])
    assert result.exit_code == 0, result.stderr
    assert exports(result.stdout) == urls | {
        "BIZSQL_MONGO_DB": "shop",
        "BIZSQL_DATA_DIR": str(environment.resolve()),
    }
    assert (
        "# BIZSQL_JWT_SECRET and BIZSQL_ROLE_SECRET: unset, read from $BIZSQL_DATA_DIR/instance-secret"
        in (result.stdout)
    )


def test_a_server_that_neither_runs_nor_is_configured_is_named(
    environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BIZSQL_REDIS_URL", "redis://cache.example:6379/2")
    result = CliRunner().invoke(app, ["env"])
    assert result.exit_code == 1
    assert exports(result.stdout)["BIZSQL_REDIS_URL"] == "redis://cache.example:6379/2"
    assert "no server answers for BIZSQL_POSTGRES_URL, BIZSQL_MONGO_URL" in " ".join(result.stderr.split())
