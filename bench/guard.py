"""The SQL guard's latency per statement, and the executor's overhead over raw psycopg on the same query.

    python bench/guard.py [--rounds 20] [--runs 2000] [--skip-executor]

Guard: every statement of the corpora (attacks, scope attacks and legitimate queries), ``rounds`` times
each, after a warm-up, with names resolved by scope against each business's real catalog when the
database answers (as in the executor); each statement's median, then p50/p99 across statements (goal: p99
under 2 ms), plus the p99 of every single run (which a busy machine inflates). Executor: the same read on
acme_retail through ``SqlExecutor.run`` (guard, pooled reader connection, READ ONLY transaction, timeout,
EXPLAIN cost check, described and value-capped server-side cursor, JSON values) and through one raw
psycopg connection as the same role; the two are interleaved so both see the same load, and neither
prepares statements (LLM-written SQL is ad hoc) (goal: under 1 ms of overhead at p50). Uses
BIZSQL_POSTGRES_URL and BIZSQL_ROLE_SECRET; no MongoDB is needed (reads are not audited by default).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import time
from pathlib import Path

import psycopg
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bizsql.auth.identity import Identity
from bizsql.config import Settings
from bizsql.demo import get_demo_business
from bizsql.demo.seed import business_config
from bizsql.sql.catalog import Catalog, load_catalog
from bizsql.sql.executor import SqlExecutor
from bizsql.sql.guard import check_sql
from bizsql.stores.business import BusinessConfig
from bizsql.stores.postgres import business_conninfo
from tests.corpora import attacks, legit_queries

console = Console()
QUERIES = {
    "point lookup": "SELECT id, customer_id, total, status FROM orders WHERE id = 4242",
    "aggregate": "SELECT status, count(*), sum(total) FROM orders "
    "WHERE order_date >= DATE '2026-10-01' GROUP BY status",
    "100 rows": "SELECT id, name, email, created_at FROM customers ORDER BY id LIMIT 100",
}


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


def bench_guard(rounds: int, catalogs: dict[str, Catalog]) -> Table:
    """Each statement's median over ``rounds`` runs (robust to a busy machine), then p50/p99 across them.

    With ``catalogs`` (read from the database when it answers), names resolve against the real tables and
    columns of each statement's business, as in the executor."""
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    attack_sql = [a.sql for a in attacks()] + [a.sql for a in attacks("scope_attacks.yaml")]
    corpora = {
        "attacks": [(sql, catalogs.get("acme_retail")) for sql in attack_sql],
        "legit": [(q.sql, catalogs.get(q.business)) for q in legit_queries()],
    }
    resolved = "real catalogs" if catalogs else "no catalog"
    table = Table(
        "corpus", "statements", "p50 ms", "p99 ms", "max ms", "raw p99 ms",
        title=f"guard: check_sql per statement, {resolved} (median of {rounds} runs each; raw = every run)",
    )  # fmt: skip
    per_statement: list[float] = []
    raw: list[float] = []
    for name, statements in corpora.items():
        for sql, catalog in statements:
            check_sql(sql, catalog=catalog)
        timings: list[list[float]] = [[] for _ in statements]
        for _ in range(rounds):
            for index, (sql, catalog) in enumerate(statements):
                started = time.perf_counter()
                check_sql(sql, allow_writes=True, catalog=catalog)
                timings[index].append((time.perf_counter() - started) * 1000)
        medians = [statistics.median(t) for t in timings]
        flat = [v for t in timings for v in t]
        per_statement += medians
        raw += flat
        table.add_row(
            name,
            str(len(statements)),
            *(f"{v:.3f}" for v in _summary(medians)),
            f"{percentile(flat, 99):.3f}",
        )
    table.add_row(
        "both",
        str(len(per_statement)),
        *(f"{v:.3f}" for v in _summary(per_statement)),
        f"{percentile(raw, 99):.3f}",
    )
    return table


def _summary(times: list[float]) -> tuple[float, float, float]:
    return percentile(times, 50), percentile(times, 99), max(times)


async def read_catalogs(settings: Settings) -> dict[str, Catalog]:
    """Each demo business's catalog as its reader role sees it (empty when no database answers)."""
    found: dict[str, Catalog] = {}
    if not settings.postgres_url:
        return found
    for business_id in ("acme_retail", "city_clinic", "swift_logistics"):
        business = BusinessConfig.from_document(business_config(get_demo_business(business_id)))
        conninfo = business_conninfo(
            settings.postgres_url, database=business.database.name, role=business.database.reader_role,
            secret=settings.secret_values()[1],
        )  # fmt: skip
        try:
            async with await psycopg.AsyncConnection.connect(conninfo) as conn:
                found[business_id] = await load_catalog(
                    conn, schemas={"public"}, writer_role=business.database.writer_role
                )
        except psycopg.OperationalError:
            return {}
    return found


async def bench_executor(settings: Settings, runs: int) -> Table:
    business = BusinessConfig.from_document(business_config(get_demo_business("acme_retail")))
    assert settings.postgres_url, "set BIZSQL_POSTGRES_URL"
    conninfo = business_conninfo(
        settings.postgres_url, database=business.database.name, role=business.database.reader_role,
        secret=settings.secret_values()[1],
    )  # fmt: skip
    executor = SqlExecutor(settings, None)
    identity = Identity(username="bench", role="analyst", business_id=business.business_id)
    table = Table(
        "query", "raw p50", "executor p50", "overhead p50", "raw p99", "executor p99", "guard p50",
        title=f"executor vs raw psycopg, ms ({runs} runs each, interleaved)",
    )  # fmt: skip
    async with await psycopg.AsyncConnection.connect(
        conninfo, autocommit=True, prepare_threshold=None
    ) as raw:
        for label, sql in QUERIES.items():
            raw_times, ours, guard = await _interleaved(raw, executor, business, identity, sql, runs)
            raw_p50, ours_p50 = statistics.median(raw_times), statistics.median(ours)
            figures = (raw_p50, ours_p50, ours_p50 - raw_p50, percentile(raw_times, 99), percentile(ours, 99))
            table.add_row(label, *(f"{v:.3f}" for v in (*figures, statistics.median(guard))))
    await executor.close()
    return table


async def _interleaved(
    raw: psycopg.AsyncConnection, executor: SqlExecutor, business: BusinessConfig, identity: Identity,
    sql: str, runs: int,
) -> tuple[list[float], list[float], list[float]]:  # fmt: skip
    raw_times, ours, guard = [], [], []
    for index in range(runs + 100):
        started = time.perf_counter()
        cur = await raw.execute(sql)
        await cur.fetchall()
        middle = time.perf_counter()
        await executor.run(sql, business=business, identity=identity)
        ended = time.perf_counter()
        check_sql(sql)
        checked = time.perf_counter()
        if index >= 100:
            raw_times.append((middle - started) * 1000)
            ours.append((ended - middle) * 1000)
            guard.append((checked - ended) * 1000)
    return raw_times, ours, guard


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="Passes over both corpora.")
    parser.add_argument("--runs", type=int, default=2000, help="Executor runs per query.")
    parser.add_argument("--skip-executor", action="store_true", help="Guard only (no database needed).")
    args = parser.parse_args()
    console.print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    settings = Settings()
    console.print(bench_guard(args.rounds, asyncio.run(read_catalogs(settings))))
    if not args.skip_executor:
        console.print(asyncio.run(bench_executor(settings, args.runs)))
    console.print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
