"""Writes: editors may change a row with a WHERE, analysts may not, limits roll back, and all is audited."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase
from typer.testing import CliRunner

from bizsql.cli import app
from bizsql.cli import sql as cli_sql
from bizsql.errors import QueryFailed, SqlRejected
from bizsql.sql.executor import SqlExecutor
from bizsql.stores.business import BusinessConfig
from bizsql.stores.mongo import AUDIT_LOGS
from tests.integration.sql.conftest import ALICE, DAVE

pytestmark = pytest.mark.integration

ORDER_ID = 4242


@pytest.fixture
def original_note(superuser: Any) -> Iterator[str | None]:
    """The note of the order these tests edit, put back afterwards so the demo data stays as seeded."""
    row = superuser.execute("SELECT notes FROM orders WHERE id = %s", (ORDER_ID,)).fetchone()
    yield row[0]
    superuser.execute("UPDATE orders SET notes = %s WHERE id = %s", (row[0], ORDER_ID))


async def _audit(mongo_db: AsyncDatabase[dict[str, Any]], sql: str) -> dict[str, Any]:
    doc = await mongo_db[AUDIT_LOGS].find_one({"sql": sql}, sort=[("at", -1)])
    assert doc is not None, f"no audit document for {sql!r}"
    return doc


async def test_editor_updates_one_row_and_the_write_is_audited(
    executor: SqlExecutor,
    businesses: dict[str, BusinessConfig],
    mongo_db: AsyncDatabase[dict[str, Any]],
    superuser: Any,
    original_note: str | None,
) -> None:
    sql = f"UPDATE orders SET notes = 'call before delivery (dave)' WHERE id = {ORDER_ID} RETURNING id, notes"
    result = await executor.run(sql, business=businesses["acme_retail"], identity=DAVE)
    assert (result.kind, result.rows_affected, result.rows) == (
        "write", 1, [[ORDER_ID, "call before delivery (dave)"]],
    )  # fmt: skip
    stored = superuser.execute("SELECT notes FROM orders WHERE id = %s", (ORDER_ID,)).fetchone()
    assert stored == ("call before delivery (dave)",)
    doc = await _audit(mongo_db, sql)
    assert (doc["user"], doc["role"], doc["business_id"], doc["outcome"], doc["rows_affected"]) == (
        "dave", "editor", "acme_retail", "committed", 1,
    )  # fmt: skip
    assert doc["verdict"]["allowed"] is True and doc["kind"] == "write"
    assert doc["duration_ms"] >= 0 and doc["at"] is not None


async def test_analyst_cannot_write_and_her_attempt_is_audited(
    executor: SqlExecutor,
    businesses: dict[str, BusinessConfig],
    mongo_db: AsyncDatabase[dict[str, Any]],
    superuser: Any,
    original_note: str | None,
) -> None:
    sql = f"UPDATE orders SET notes = 'alice was here' WHERE id = {ORDER_ID}"
    with pytest.raises(SqlRejected, match="alice is an analyst; only editors and admins may write"):
        await executor.run(sql, business=businesses["acme_retail"], identity=ALICE)
    assert superuser.execute("SELECT notes FROM orders WHERE id = %s", (ORDER_ID,)).fetchone() == (
        original_note,
    )
    doc = await _audit(mongo_db, sql)
    assert (doc["user"], doc["outcome"], doc["verdict"]["allowed"]) == ("alice", "refused", False)


async def test_write_over_the_row_limit_is_refused_before_it_runs(
    executor: SqlExecutor,
    businesses: dict[str, BusinessConfig],
    mongo_db: AsyncDatabase[dict[str, Any]],
    superuser: Any,
) -> None:
    sql = "UPDATE orders SET notes = 'bulk edit' WHERE id <= 500"
    with pytest.raises(SqlRejected, match="change 500 rows, more than this business's limit of 100"):
        await executor.run(sql, business=businesses["acme_retail"], identity=DAVE)
    assert superuser.execute("SELECT count(*) FROM orders WHERE notes = 'bulk edit'").fetchone() == (0,)
    doc = await _audit(mongo_db, sql)
    assert (doc["outcome"], doc["rows_affected"]) == ("refused", 500)


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO customers (name, email, city, state) "
        "SELECT 'x', 'seq' || g || '@example.com', 'Austin', 'TX' FROM generate_series(1, 500) g",
        "INSERT INTO customers (name, email, city, state) VALUES "
        + ", ".join(f"('x', 'values{i}@example.com', 'Austin', 'TX')" for i in range(101)),
    ],
    ids=["insert-select", "insert-values"],
)
async def test_insert_refused_over_the_row_limit_draws_no_sequence_value(
    sql: str, executor: SqlExecutor, businesses: dict[str, BusinessConfig], superuser: Any
) -> None:
    """Nothing changed includes the sequence: the rows are counted before the INSERT runs."""
    sequence = "SELECT last_value, is_called FROM customers_id_seq"
    before = superuser.execute(sequence).fetchone()
    with pytest.raises(SqlRejected, match=r"limit of 100; nothing was run and nothing changed"):
        await executor.run(sql, business=businesses["acme_retail"], identity=DAVE)
    assert superuser.execute(sequence).fetchone() == before


async def test_failed_write_is_rolled_back_and_audited(
    executor: SqlExecutor, businesses: dict[str, BusinessConfig], mongo_db: AsyncDatabase[dict[str, Any]]
) -> None:
    sql = "UPDATE orders SET status = 'lost in space' WHERE id = 1"
    with pytest.raises(QueryFailed, match="violates check constraint"):
        await executor.run(sql, business=businesses["acme_retail"], identity=DAVE)
    doc = await _audit(mongo_db, sql)
    assert doc["outcome"] == "failed" and "violates check constraint" in doc["error"]


async def test_business_without_writes_refuses_even_an_admin(
    executor: SqlExecutor, businesses: dict[str, BusinessConfig]
) -> None:
    from bizsql.auth.identity import Identity

    admin = Identity(username="admin", role="admin", business_id="all")
    with pytest.raises(SqlRejected, match="writes are disabled for City Clinic"):
        await executor.run(
            "UPDATE patients SET city = 'x' WHERE id = 1", business=businesses["city_clinic"], identity=admin
        )


async def test_write_without_an_audit_log_never_runs(
    businesses: dict[str, BusinessConfig], seeded: Any, superuser: Any, original_note: str | None
) -> None:
    unaudited = SqlExecutor(seeded, None)
    try:
        with pytest.raises(QueryFailed, match="audit log"):
            await unaudited.run(
                f"UPDATE orders SET notes = 'unaudited' WHERE id = {ORDER_ID}",
                business=businesses["acme_retail"], identity=DAVE,
            )  # fmt: skip
    finally:
        await unaudited.close()
    assert superuser.execute("SELECT notes FROM orders WHERE id = %s", (ORDER_ID,)).fetchone() == (
        original_note,
    )


def test_editor_writes_through_the_cli_as_dave(
    sql_env: dict[str, str], monkeypatch: Any, original_note: str | None
) -> None:
    monkeypatch.setattr(cli_sql, "configure_logging", lambda *a, **k: None)
    sql = f"UPDATE orders SET notes = 'leave at reception' WHERE id = {ORDER_ID}"
    result = CliRunner().invoke(app, ["sql", "run", "-b", "acme_retail", "--as", "dave", sql], env=sql_env)
    assert result.exit_code == 0, result.stdout
    assert json.loads(result.stdout) == {
        "columns": [], "rows": [], "row_count": 0, "truncated": False, "rows_affected": 1,
    }  # fmt: skip
    as_alice = CliRunner().invoke(app, ["sql", "run", "-b", "acme_retail", "--as", "alice", sql], env=sql_env)
    assert as_alice.exit_code == 3
