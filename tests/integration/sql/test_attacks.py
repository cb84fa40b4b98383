"""Attacks through `bizsql sql run` never execute and leave every table as it was; the bare role holds too."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from typer.testing import CliRunner

from bizsql.cli import app
from bizsql.cli import sql as cli_sql
from bizsql.config import Settings
from bizsql.stores.postgres import business_conninfo
from tests.corpora import Attack, attacks
from tests.integration.sql.conftest import database_checksum

pytestmark = pytest.mark.integration

ATTACKS = attacks()
SUBPROCESS_ATTACKS = [
    "COMMIT; DROP SCHEMA public CASCADE",
    "SELECT * FROM pg_read_file('/etc/passwd')",
    "COPY (SELECT 1) TO PROGRAM 'id > /tmp/bizsql_pwned'",
    "WITH d AS (DELETE FROM orders RETURNING *) SELECT count(*) FROM d",
    "SELECT 1 -- ; DROP TABLE orders",
]
# An attack expected to fail may be one that runs forever, so it is cut short; one expected to be harmless
# must finish, and a loaded CI machine can take well over 100 ms on it (ts_stat over every store name did).
DIRECT_TIMEOUT_MS, HARMLESS_TIMEOUT_MS = 100, 10_000


@pytest.fixture(scope="module")
def baseline(seeded: Settings) -> dict[str, str]:
    """acme_retail before any attack of this module runs."""
    return database_checksum(seeded, "acme_retail")


@pytest.fixture(scope="module")
def cli(sql_env: dict[str, str]) -> Any:
    runner = CliRunner()
    patch = pytest.MonkeyPatch()
    patch.setattr(
        cli_sql, "configure_logging", lambda *a, **k: None
    )  # keep the captured stderr out of logging

    def invoke(*args: str) -> tuple[int, dict[str, Any]]:
        result = runner.invoke(app, list(args), env=sql_env, catch_exceptions=False)
        return result.exit_code, json.loads(result.stdout)

    yield invoke
    patch.undo()


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.id)
def test_attack_through_sql_run_is_refused_with_a_specific_reason(
    attack: Attack, baseline: dict[str, str], cli: Any
) -> None:
    user = ["--as", attack.user] if attack.user else []
    code, out = cli("sql", "run", "--business", "acme_retail", *user, "--", attack.sql)
    assert "rows" not in out, out
    assert code in ((3,) if attack.stage == "guard" else (3, 4)), out
    assert re.search(attack.reason, out["reason"], re.IGNORECASE), out["reason"]


@pytest.mark.parametrize("sql", SUBPROCESS_ATTACKS)
def test_attack_through_the_real_command_is_refused(
    sql: str, baseline: dict[str, str], subprocess_env: dict[str, str]
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bizsql.cli", "sql", "run", "--business", "acme_retail", sql],
        env=subprocess_env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert json.loads(done.stdout)["error"] == "sql_rejected"


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.id)
def test_same_attack_sent_straight_to_the_reader_role_does_no_harm(
    attack: Attack, baseline: dict[str, str], seeded: Settings
) -> None:
    """As psql would send it (simple protocol, several statements allowed), in the executor's transaction."""
    if "\x00" in attack.sql:
        pytest.skip("libpq cannot send a NUL byte at all")
    assert seeded.postgres_url
    conninfo = business_conninfo(
        seeded.postgres_url, database="acme_retail", role="bizsql_acme_retail_reader",
        secret=seeded.secret_values()[1],
    )  # fmt: skip
    conn = psycopg.connect(conninfo, autocommit=True)
    try:
        timeout_ms = HARMLESS_TIMEOUT_MS if attack.direct == "harmless" else DIRECT_TIMEOUT_MS
        conn.execute(f"BEGIN READ ONLY; SET LOCAL statement_timeout = {timeout_ms}")
        failed = _run_directly(conn, attack.sql)
    finally:
        conn.close()  # never COMMIT: closing discards the transaction
    if attack.direct == "harmless" and isinstance(failed, psycopg.errors.FeatureNotSupported):
        return  # this server was built without the feature (pgserver has no libxml): nothing ran either way
    assert (failed is not None) == (attack.direct == "fails"), failed


def _run_directly(conn: psycopg.Connection[Any], sql: str) -> Exception | None:
    """The server's error, or None when it ran (a COPY that starts streaming ran, as it would in psql)."""
    try:
        conn.execute(sql)
    except psycopg.ProgrammingError as exc:
        if "COPY cannot be used" not in str(exc):
            return exc
    except psycopg.DatabaseError as exc:
        return exc
    return None


def test_every_table_is_unchanged_after_all_attacks(baseline: dict[str, str], seeded: Settings) -> None:
    after = database_checksum(seeded, "acme_retail")
    changed = {name for name in baseline if baseline[name] != after.get(name)}
    assert not changed, changed
    assert len([name for name in baseline if not name.startswith("__")]) == 13


def test_refused_attempts_that_are_not_reads_are_audited(seeded: Settings) -> None:
    from bizsql.stores.mongo import AUDIT_LOGS, mongo_client

    assert seeded.mongo_url
    with mongo_client(seeded.mongo_url) as client:
        audit = client[seeded.mongo_db][AUDIT_LOGS]
        doc = audit.find_one({"source": "cli", "sql": "DROP TABLE orders"})
    assert doc is not None
    assert (doc["outcome"], doc["user"], doc["verdict"]["reason"]) == (
        "refused",
        "alice",
        "DROP is not allowed",
    )


def test_superuser_sees_the_attacked_tables_still_there(seeded: Settings) -> None:
    assert seeded.postgres_url
    with psycopg.connect(make_conninfo(seeded.postgres_url, dbname="acme_retail")) as conn:
        row = conn.execute("SELECT count(*) FROM orders").fetchone()
    assert row and row[0] >= 50_000
