"""A setting the service cannot start with is named in plain words, with no traceback."""

from __future__ import annotations

import os
import subprocess
import sys


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bizsql.cli", *args],  # as the tests and `python -m` start it
        env={**os.environ, "COLUMNS": "240", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_invalid_settings_are_listed_by_variable_and_exit_2() -> None:
    done = run_cli("config", BIZSQL_RETRIEVAL_TOP_K="0", BIZSQL_MCP_URL="http://10.1.1.1/mcp")
    assert done.returncode == 2
    assert "BIZSQL_RETRIEVAL_TOP_K: Input should be greater than or equal to 1" in done.stderr
    assert "BIZSQL_MCP_URL: Value error, refusing to send bearer tokens in clear" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_valid_settings_still_print() -> None:
    done = run_cli("config", BIZSQL_RETRIEVAL_TOP_K="4")
    assert done.returncode == 0, done.stderr
    assert "BIZSQL_RETRIEVAL_TOP_K" in done.stdout


def test_config_shows_which_mongo_database_is_used_and_why() -> None:
    from_url = run_cli("config", BIZSQL_MONGO_URL="mongodb://127.0.0.1:1/shop", BIZSQL_MONGO_DB="")
    assert from_url.returncode == 0, from_url.stderr
    assert "shop (named by BIZSQL_MONGO_URL)" in " ".join(from_url.stdout.split())
    pinned = run_cli("config", BIZSQL_MONGO_URL="mongodb://127.0.0.1:1/shop", BIZSQL_MONGO_DB="other")
    assert "other (set by BIZSQL_MONGO_DB, over the URL's shop)" in " ".join(pinned.stdout.split())
