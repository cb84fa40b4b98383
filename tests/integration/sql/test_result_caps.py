"""Every result is bounded in bytes, not only rows, and every pooled session comes back clean.

A huge value is cut on the database server, so the process reading it never holds it; a result over the
business's byte cap is cut off and says so. A connection returned to its pool forgets its session settings.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from bizsql.config import Settings
from bizsql.sql.capped import CUT_MARK
from bizsql.sql.executor import SqlExecutor
from bizsql.sql.pools import BusinessPools
from bizsql.stores.business import BusinessConfig
from tests.integration.sql.conftest import ALICE, DAVE

pytestmark = pytest.mark.integration

BLOB = "(SELECT string_agg(md5(g::text), '') FROM generate_series(1, 75000) g)"
"""2.4 MB in one value: a hundred of them make a 240 MB result, under the roles' 256 MB temp_file_limit."""
MAX_RSS_MB = 500


def _probe(env: dict[str, str], user: str, sql: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.result_probe", user, sql],
        env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.splitlines()[-1]))


@pytest.fixture(scope="module")
def idle_rss_mb(subprocess_env: dict[str, str]) -> float:
    return float(_probe(subprocess_env, "alice", "SELECT 1")["max_rss_mb"])


@pytest.mark.parametrize(
    ("user", "sql"),
    [
        ("alice", f"SELECT id, {BLOB} AS blob FROM orders ORDER BY id LIMIT 100"),
        ("dave", f"UPDATE orders SET notes = notes WHERE id <= 100 RETURNING id, {BLOB} AS blob"),
    ],
    ids=["read", "returning"],
)
def test_a_240_mb_result_is_cut_on_the_server_and_the_process_stays_small(
    user: str, sql: str, subprocess_env: dict[str, str], idle_rss_mb: float
) -> None:
    out = _probe(subprocess_env, user, sql)
    assert (out.get("error"), out["row_count"], out["values_cut"]) == (None, 100, 100), out
    assert out["longest_value"] <= 16_384 + len(CUT_MARK)
    assert out["max_rss_mb"] < MAX_RSS_MB, out
    assert out["max_rss_mb"] - idle_rss_mb < 100, (out, idle_rss_mb)  # the old path grew by ~460 MB


def test_a_500_mb_returning_is_refused_with_a_clear_reason(subprocess_env: dict[str, str]) -> None:
    blob = BLOB.replace("75000", "160000")
    sql = f"UPDATE orders SET notes = notes WHERE id <= 100 RETURNING id, {blob} AS blob"
    out = _probe(subprocess_env, "dave", sql)
    assert out.get("error") == "query_failed", out
    assert "larger than Acme Retail's database allows" in out["detail"]
    assert out["max_rss_mb"] < MAX_RSS_MB, out


async def test_rows_past_the_byte_cap_are_cut_off_and_marked(
    executor: SqlExecutor, businesses: dict[str, BusinessConfig]
) -> None:
    acme = businesses["acme_retail"].model_copy(update={"max_result_bytes": 2_000_000})
    wide = ", ".join(f"repeat(md5(id::text), 300) AS c{i}" for i in range(3))  # 28.8 kB a row
    result = await executor.run(f"SELECT id, {wide} FROM orders ORDER BY id", business=acme, identity=ALICE)
    assert (result.truncated, result.truncated_by) == (True, "bytes")
    assert 60 <= result.row_count <= 70
    assert sum(len(v) for row in result.rows for v in row[1:]) <= 2_000_000
    assert [row[0] for row in result.rows] == list(range(1, result.row_count + 1))


async def test_long_values_are_cut_to_the_value_limit_and_marked(
    executor: SqlExecutor, businesses: dict[str, BusinessConfig]
) -> None:
    acme = businesses["acme_retail"].model_copy(update={"max_value_chars": 100})
    result = await executor.run(
        "SELECT id, repeat('ab', 60) AS long, 'short' AS short, "
        "jsonb_build_object('k', repeat('x', 200)) AS doc FROM orders ORDER BY id LIMIT 2",
        business=acme,
        identity=ALICE,
    )
    assert result.columns == ["id", "long", "short", "doc"]
    assert result.values_cut == 4 and not result.truncated
    assert result.rows[0][:3] == [1, "ab" * 50 + CUT_MARK, "short"]
    assert result.rows[0][3].startswith('{"k": "xxx') and result.rows[0][3].endswith(CUT_MARK)


async def test_returning_rows_keep_their_names_and_types(
    executor: SqlExecutor, businesses: dict[str, BusinessConfig], superuser: Any
) -> None:
    original = superuser.execute("SELECT notes FROM orders WHERE id = 7").fetchone()[0]
    try:
        result = await executor.run(
            "UPDATE orders SET notes = 'checked' WHERE id = 7 RETURNING id, notes, total, order_date",
            business=businesses["acme_retail"],
            identity=DAVE,
        )
    finally:
        superuser.execute("UPDATE orders SET notes = %s WHERE id = 7", (original,))
    assert result.columns == ["id", "notes", "total", "order_date"]
    assert (result.rows_affected, result.row_count, result.rows[0][:2]) == (1, 1, [7, "checked"])
    assert isinstance(result.rows[0][2], float) and isinstance(result.rows[0][3], str)


@pytest.mark.parametrize("role", ["reader", "writer"])
async def test_a_pooled_connection_comes_back_with_no_session_state(role: str, seeded: Settings) -> None:
    """What one checkout sets (settings, an advisory lock) is gone at the next checkout of that session."""
    pools = BusinessPools(seeded.model_copy(update={"sql_pool_max_size": 1}))
    acme = BusinessConfig.model_validate(
        {"business_id": "acme_retail", "name": "Acme Retail", "database": {
            "name": "acme_retail", "reader_role": "bizsql_acme_retail_reader",
            "writer_role": "bizsql_acme_retail_writer"}}
    )  # fmt: skip
    pool = await pools.get(pools.key(acme, f"bizsql_acme_retail_{role}"))
    try:
        async with pool.connection() as conn:
            first = await (
                await conn.execute("SELECT pg_backend_pid(), current_setting('TimeZone')")
            ).fetchone()
            await conn.execute("SET TimeZone = 'Pacific/Chatham'")
            await conn.execute("SELECT set_config('DateStyle', 'SQL, DMY', false), pg_advisory_lock(4242)")
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT pg_backend_pid(), current_setting('TimeZone'), current_setting('DateStyle'), "
                "(SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid())"
            )
            second = await cur.fetchone()
    finally:
        await pools.close()
    assert first is not None and second is not None
    assert second[0] == first[0], "the pool handed out another session: the test proves nothing"
    assert (second[1], second[3]) == (first[1], 0)
    assert second[2] != "SQL, DMY"


async def test_numbers_and_stored_text_are_cut_by_their_text_not_their_stored_size(
    executor: SqlExecutor, businesses: dict[str, BusinessConfig], superuser: Any
) -> None:
    """1e131071 is 8 bytes stored and 131,072 digits as text; a compressed string is small on disk."""
    acme = businesses["acme_retail"]
    result = await executor.run(
        "SELECT 1e131071::numeric AS huge, 12345::numeric AS small, 2.5::numeric AS half "
        "FROM generate_series(1, 3)",
        business=acme,
        identity=ALICE,
    )
    assert result.values_cut == 3
    assert result.rows[0][0].endswith(CUT_MARK) and len(result.rows[0][0]) <= 16_384 + len(CUT_MARK)
    assert result.rows[0][1:] == [12345, 2.5]
    json.dumps(result.model_dump())  # whole numbers past 18 digits would not even serialise as ints
    original = superuser.execute("SELECT notes FROM orders WHERE id = 9").fetchone()[0]
    superuser.execute("UPDATE orders SET notes = repeat('x', 1000000) WHERE id = 9")
    try:
        stored = await executor.run("SELECT notes FROM orders WHERE id = 9", business=acme, identity=ALICE)
    finally:
        superuser.execute("UPDATE orders SET notes = %s WHERE id = 9", (original,))
    assert stored.values_cut == 1 and len(stored.rows[0][0]) == 16_384 + len(CUT_MARK)
