"""The executor against the real demo databases: ceilings, caps, timeouts, retries and defence in depth."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from pymongo.asynchronous.database import AsyncDatabase
from typer.testing import CliRunner

from bizsql.cli import app
from bizsql.cli import sql as cli_sql
from bizsql.config import Settings
from bizsql.errors import QueryFailed, SqlRejected, TenantDenied
from bizsql.sql import executor as executor_module
from bizsql.sql.executor import SqlExecutor
from bizsql.sql.guard import Judgement, Verdict
from bizsql.sql.pools import APPLICATION_NAME
from bizsql.stores.business import BusinessConfig
from bizsql.stores.mongo import AUDIT_LOGS, BUSINESS_CONFIGS
from tests.integration.sql.conftest import ALICE, BOB

pytestmark = pytest.mark.integration

CROSS_JOIN = "SELECT sum(1 / (a.id - a.id)) FROM order_items a CROSS JOIN order_items b"
LONG_QUERY = "SELECT sum(i) FROM (SELECT generate_series(1, 200000000) AS i) s"
MILLION_ROWS = "SELECT a.i, b.j FROM generate_series(1, 1000) a(i) CROSS JOIN generate_series(1, 1000) b(j)"
TIGHT_ID = "sqltest_tight_timeout"


@pytest_asyncio.fixture(scope="module")
async def tight_business(
    mongo_db: AsyncDatabase[dict[str, Any]], businesses: dict[str, BusinessConfig]
) -> AsyncIterator[BusinessConfig]:
    """acme_retail's database under a config with a 300 ms timeout (config is data, so this is a document)."""
    doc = businesses["acme_retail"].model_dump() | {
        "business_id": TIGHT_ID, "name": "Acme (tight timeout)", "statement_timeout_ms": 300,
    }  # fmt: skip
    await mongo_db[BUSINESS_CONFIGS].replace_one({"business_id": TIGHT_ID}, doc, upsert=True)
    yield BusinessConfig.model_validate(doc)
    await mongo_db[BUSINESS_CONFIGS].delete_one({"business_id": TIGHT_ID})


async def test_query_over_the_cost_ceiling_is_refused_before_it_runs(
    executor: SqlExecutor, businesses: dict[str, BusinessConfig]
) -> None:
    """The statement divides by zero on its first row, so a QueryFailed would mean it had started."""
    with pytest.raises(SqlRejected) as refused:
        await executor.run(CROSS_JOIN, business=businesses["acme_retail"], identity=ALICE)
    assert "estimated cost" in refused.value.reason
    assert "ceiling of 5,000,000" in refused.value.reason
    cost = await executor.explain_cost(CROSS_JOIN, business=businesses["acme_retail"])
    assert f"{cost:,.0f}" in refused.value.reason


async def test_million_row_result_is_capped_and_marked_truncated(
    executor: SqlExecutor, businesses: dict[str, BusinessConfig]
) -> None:
    acme = businesses["acme_retail"]
    tracemalloc.start()
    try:
        result = await executor.run(MILLION_ROWS, business=acme, identity=ALICE)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (result.row_count, len(result.rows), result.truncated) == (acme.row_cap, acme.row_cap, True)
    assert result.rows[0] == [1, 1]
    assert peak < 20_000_000, f"{peak:,} bytes: the million rows were fetched"


async def test_result_under_the_cap_is_not_truncated(
    executor: SqlExecutor, businesses: dict[str, BusinessConfig]
) -> None:
    result = await executor.run(
        "SELECT * FROM generate_series(1, 1000) i", business=businesses["acme_retail"], identity=ALICE
    )
    assert (result.row_count, result.truncated) == (1000, False)


def test_statement_past_the_timeout_is_cancelled_and_exits_4(
    tight_business: BusinessConfig, sql_env: dict[str, str], monkeypatch: Any
) -> None:
    monkeypatch.setattr(cli_sql, "configure_logging", lambda *a, **k: None)
    result = CliRunner().invoke(app, ["sql", "run", "--business", TIGHT_ID, LONG_QUERY], env=sql_env)
    assert result.exit_code == 4
    assert json.loads(result.stdout) == {
        "error": "query_timeout", "reason": "the query ran longer than 300 ms and was cancelled",
    }  # fmt: skip


def test_database_error_exits_4_with_the_hint(sql_env: dict[str, str], monkeypatch: Any) -> None:
    monkeypatch.setattr(cli_sql, "configure_logging", lambda *a, **k: None)
    result = CliRunner().invoke(
        app, ["sql", "run", "-b", "acme_retail", "SELECT note FROM orders"], env=sql_env
    )
    assert result.exit_code == 4
    out = json.loads(result.stdout)
    assert out["error"] == "query_failed"
    assert 'column "note" does not exist' in out["reason"] and "orders.notes" in out["reason"]


def test_million_rows_through_the_cli_say_truncated(sql_env: dict[str, str], monkeypatch: Any) -> None:
    monkeypatch.setattr(cli_sql, "configure_logging", lambda *a, **k: None)
    result = CliRunner().invoke(app, ["sql", "run", "-b", "acme_retail", MILLION_ROWS], env=sql_env)
    out = json.loads(result.stdout)
    assert (result.exit_code, out["row_count"], out["truncated"]) == (0, 1000, True)


async def test_values_come_back_json_safe(
    executor: SqlExecutor, businesses: dict[str, BusinessConfig]
) -> None:
    sql = (
        "SELECT 19.99::numeric AS price, 12::numeric AS whole, DATE '2026-10-31' AS day, "
        "TIMESTAMPTZ '2026-10-31 08:00+00' AS at, INTERVAL '1 day 2 hours' AS span, "
        "'00000000-0000-0000-0000-000000000001'::uuid AS id, '\\x00ff'::bytea AS raw, "
        "'{\"a\": [1, 2.5]}'::jsonb AS doc, ARRAY[1.5, 2]::numeric[] AS arr, int4range(1, 5) AS r, "
        "'NaN'::float8 AS nan"
    )
    result = await executor.run(sql, business=businesses["acme_retail"], identity=ALICE)
    assert result.rows == [[
        19.99, 12, "2026-10-31", "2026-10-31T08:00:00+00:00", "P1DT2H",
        "00000000-0000-0000-0000-000000000001", "\\x00ff", {"a": [1, 2.5]}, [1.5, 2], "[1,5)", "nan",
    ]]  # fmt: skip
    json.dumps(result.model_dump())


async def test_other_tenants_are_refused_and_audited(
    executor: SqlExecutor, businesses: dict[str, BusinessConfig], mongo_db: AsyncDatabase[dict[str, Any]]
) -> None:
    with pytest.raises(TenantDenied):
        await executor.run("SELECT count(*) FROM orders", business=businesses["acme_retail"], identity=BOB)
    doc = await mongo_db[AUDIT_LOGS].find_one({"user": "bob", "business_id": "acme_retail"})
    assert doc is not None and doc["outcome"] == "refused"


async def test_explain_gives_the_plan_without_running(
    executor: SqlExecutor, businesses: dict[str, BusinessConfig]
) -> None:
    plan = await executor.explain(CROSS_JOIN, business=businesses["acme_retail"])
    assert plan.estimated_cost > businesses["acme_retail"].max_cost
    assert plan.plan[0]["Plan"]["Node Type"].endswith("Aggregate")
    with pytest.raises(SqlRejected):
        await executor.explain("DELETE FROM orders WHERE id = 1", business=businesses["acme_retail"])


async def test_user_explain_statement_returns_the_plan_rows(
    executor: SqlExecutor, businesses: dict[str, BusinessConfig]
) -> None:
    result = await executor.run(
        "EXPLAIN SELECT * FROM orders WHERE id = 1", business=businesses["acme_retail"], identity=ALICE
    )
    assert result.columns == ["QUERY PLAN"]
    assert "orders_pkey" in result.rows[0][0]


async def test_stacked_statement_is_refused_by_postgres_even_if_the_guard_were_fooled(
    executor: SqlExecutor, businesses: dict[str, BusinessConfig], monkeypatch: Any, superuser: Any
) -> None:
    """Defence in depth: the extended protocol takes one statement, and reads run READ ONLY as the reader."""
    fooled = Verdict(allowed=True, kind="read", reason="fooled", tables=[])
    monkeypatch.setattr(executor_module, "judge_sql", lambda sql, **k: Judgement(fooled, "SELECT", sql))
    acme = businesses["acme_retail"]
    with pytest.raises(QueryFailed, match="cannot insert multiple commands"):
        await executor.run("SELECT 1; DROP TABLE order_items", business=acme, identity=ALICE)
    with pytest.raises(QueryFailed, match=r"read-only transaction|permission denied|syntax error"):
        await executor.run("DELETE FROM order_items WHERE id = 1", business=acme, identity=ALICE)
    assert superuser.execute("SELECT count(*) FROM order_items WHERE id = 1").fetchone() == (1,)


async def test_killed_connections_are_retried_on_a_fresh_one(
    executor: SqlExecutor, businesses: dict[str, BusinessConfig], superuser: Any
) -> None:
    acme = businesses["acme_retail"]
    await executor.run("SELECT 1", business=acme, identity=ALICE)
    killed = superuser.execute(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE application_name = %s AND usename = %s",
        (APPLICATION_NAME, acme.database.reader_role),
    ).fetchone()
    assert killed and killed[0] >= 1
    result = await executor.run("SELECT 42 AS answer", business=acme, identity=ALICE)
    assert result.rows == [[42]]


async def test_closed_pool_is_rebuilt(executor: SqlExecutor, businesses: dict[str, BusinessConfig]) -> None:
    acme = businesses["acme_retail"]
    key = executor.pools.key(acme, acme.database.reader_role)
    old = await executor.pools.get(key)
    await old.close()
    result = await executor.run("SELECT 7", business=acme, identity=ALICE)
    assert result.rows == [[7]]
    assert await executor.pools.get(key) is not old


async def test_unreachable_database_fails_after_retries(
    seeded: Settings, businesses: dict[str, BusinessConfig]
) -> None:
    settings = seeded.model_copy(update={"sql_pool_timeout_seconds": 0.5, "sql_connect_attempts": 2})
    gone = businesses["acme_retail"].model_copy(
        update={
            "database": businesses["acme_retail"].database.model_copy(update={"name": "bizsql_no_such_db"})
        }
    )
    lonely = SqlExecutor(settings, None)
    try:
        with pytest.raises(QueryFailed, match="unreachable"):
            await lonely.run("SELECT 1", business=gone, identity=ALICE)
    finally:
        await lonely.close()


async def test_reads_are_audited_when_asked(
    seeded: Settings, businesses: dict[str, BusinessConfig], mongo_db: AsyncDatabase[dict[str, Any]]
) -> None:
    auditing = SqlExecutor(seeded.model_copy(update={"audit_reads": True}), mongo_db)
    try:
        await auditing.run(
            "SELECT 'audited read' AS marker", business=businesses["acme_retail"], identity=ALICE
        )
    finally:
        await auditing.close()
    doc = await mongo_db[AUDIT_LOGS].find_one({"sql": "SELECT 'audited read' AS marker"})
    assert doc is not None
    assert (doc["outcome"], doc["kind"], doc["user"]) == ("read", "read", "alice")
