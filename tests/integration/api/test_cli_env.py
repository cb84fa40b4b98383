"""`bizsql env` prints the URLs of the embedded servers that run for the data directory, ready to eval."""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from bizsql.cli import app
from bizsql.config import Settings, get_settings
from bizsql.embedded import EmbeddedStack, PgServer

pytestmark = pytest.mark.integration


@pytest.fixture
def running(server_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The three embedded servers of a fresh data directory, started in this process, and an environment
    that names that directory and no server URL."""
    for variable in ("BIZSQL_POSTGRES_URL", "BIZSQL_REDIS_URL", "BIZSQL_MONGO_URL", "BIZSQL_MONGO_DB"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("BIZSQL_DATA_DIR", str(server_dir))
    get_settings.cache_clear()
    stack = EmbeddedStack(
        Settings(
            data_dir=server_dir,
            postgres_url=None,
            redis_url=None,
            mongo_url=None,
            jwt_secret=SecretStr("x" * 40),
        )
    )
    try:
        yield stack.start()
    finally:
        stack.stop()
        get_settings.cache_clear()


def test_env_prints_the_running_embedded_servers_urls(running: Settings, server_dir: Path) -> None:
    result = CliRunner().invoke(app, ["env"])
    assert result.exit_code == 0, result.stderr
    printed = subprocess.run(
        ["bash", "-c", 'eval "$1"; printf "%s\\n" "$BIZSQL_POSTGRES_URL" "$BIZSQL_REDIS_URL" '
         '"$BIZSQL_MONGO_URL" "$BIZSQL_MONGO_DB" "$BIZSQL_DATA_DIR"', "_", result.stdout],
        capture_output=True, text=True, check=True, env={"PATH": "/usr/bin:/bin"},
    ).stdout.splitlines()  # fmt: skip
    assert printed == [
        running.postgres_url,
        running.redis_url,
        running.mongo_url,
        "bizsql",
        str(server_dir.resolve()),
    ]
    assert all(shlex.split(line)[0] == "export" for line in result.stdout.splitlines() if line[:1] != "#")


def test_env_leaves_out_a_recorded_server_that_stopped(running: Settings) -> None:
    PgServer(running.data_dir / "embedded" / "postgres").stop()
    result = CliRunner().invoke(app, ["env"])
    assert result.exit_code == 1
    assert "BIZSQL_POSTGRES_URL" not in result.stdout and "BIZSQL_REDIS_URL" in result.stdout
    assert "no server answers for BIZSQL_POSTGRES_URL" in " ".join(result.stderr.split())
