"""The one path every SQL statement takes to a business database: guard, role, transaction, limits, audit.

The guard judges each statement against the business's catalog (``sql.catalog``, cached a few seconds).
Reads run as the business's reader role in a ``READ ONLY`` transaction with ``SET LOCAL
statement_timeout``; ``EXPLAIN`` prices them first and a plan over the business's cost ceiling never runs.
Rows come through a server-side cursor with every value cut on the server and every batch sized to the
bytes still allowed (``sql.capped``), so neither a million rows nor one huge value costs more than the
business's caps. Writes run as the writer role, only when the business allows writes and the user is an
editor or admin; they are priced and their rows counted before they run (``sql.writes``), and every
attempt is audited. A generated write may first run as a dry run (rolled back, showing its row count and
a sample) and then, approved, run again only if it changes the same number of rows. Statements go over
the extended protocol (``binary=True``), where PostgreSQL itself refuses a second statement.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Literal, TypeVar

import psycopg
import structlog
from cachetools import TTLCache
from psycopg import AsyncConnection, AsyncCursor
from psycopg_pool import PoolTimeout
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from bizsql.auth.identity import Identity
from bizsql.config import Settings
from bizsql.errors import BizsqlError, QueryFailed, SqlRejected, TenantDenied, WriteChanged
from bizsql.sql.audit import Attempt, MongoAudit, as_audit_sink
from bizsql.sql.capped import (
    Deadline,
    capped_read,
    capped_rows,
    capped_write,
    describe,
    fetch_capped,
    query_result,
    stream_capped,
)
from bizsql.sql.catalog import Catalog, load_catalog
from bizsql.sql.guard import Judgement, Verdict, judge_sql
from bizsql.sql.policy import READ_ONLY_SCHEMAS
from bizsql.sql.pools import BusinessPools, PoolKey
from bizsql.sql.result import ExplainResult, QueryResult
from bizsql.sql.session import (
    database_error,
    first_line,
    over_ceiling,
    query_plan,
    total_cost,
    transaction,
)
from bizsql.sql.write_plan import AS_WRITTEN, SAMPLE_ROWS, WritePlan, end_write, write_refusal
from bizsql.sql.writes import rows_to_change, with_returning
from bizsql.stores.business import BusinessConfig

__all__ = ["MongoAudit", "SqlExecutor", "write_refusal"]

log = structlog.get_logger(__name__)
T = TypeVar("T")
CURSOR = "bizsql_rows"
CATALOG_RECHECK_S = 2.0
CATALOG_TIMEOUT_MS = 5_000


class _Reconnect(Exception):
    """The connection or the pool broke before the statement could take effect: safe to try again."""


class SqlExecutor:
    """Guarded execution against per-business pools; one instance per process (or per event loop)."""

    def __init__(self, settings: Settings, audit: Any = None) -> None:
        self.settings = settings
        self.audit = as_audit_sink(audit)
        self.pools = BusinessPools(settings)
        self._catalogs: TTLCache[PoolKey, tuple[Catalog, float]] = TTLCache(
            maxsize=1024, ttl=max(settings.sql_catalog_seconds, 1e-3)
        )

    async def run(
        self, sql: str, *, business: BusinessConfig, identity: Identity, source: str = "graph"
    ) -> QueryResult:
        """Run one statement for ``identity``; raises SqlRejected, TenantDenied, QueryFailed, QueryTimeout."""
        attempt = Attempt(self.audit, sql, business, identity, source)
        judged = await self._admit(sql, business, identity, attempt)
        verdict = judged.verdict
        if verdict.kind == "write":
            return await self._write(judged, business, attempt)
        try:
            result = await self._read(judged, business, sql if judged.verb == "EXPLAIN" else None)
        except SqlRejected as exc:  # the cost ceiling
            await attempt.record(
                verdict.model_copy(update={"allowed": False, "reason": exc.reason}), "refused"
            )
            raise
        except BizsqlError as exc:
            if self.settings.audit_reads:
                await attempt.record(verdict, "failed", error=exc.detail)
            raise
        if self.settings.audit_reads:
            await attempt.record(verdict, "read", rows=result.row_count)
        return result

    async def dry_run(
        self, sql: str, *, business: BusinessConfig, identity: Identity, source: str = "graph"
    ) -> QueryResult:
        """A write on the same guarded path as ``run``, in a transaction that is rolled back: the rows it
        would change (``rows_affected``) and up to ``SAMPLE_ROWS`` of them as changed. Audited as a dry run.
        (An INSERT's dry run draws its sequence values, as any rolled-back INSERT does.)"""
        return await self._planned(sql, business, identity, source, WritePlan(dry_run=True))

    async def run_approved(
        self, sql: str, *, business: BusinessConfig, identity: Identity, expected_rows: int, approved_by: str,
        source: str = "graph",
    ) -> QueryResult:  # fmt: skip
        """The write ``identity`` asked for, after ``approved_by`` said yes to its dry run: committed only
        if it changes exactly ``expected_rows`` rows, else rolled back with WriteChanged."""
        plan = WritePlan(expected_rows=expected_rows, approved_by=approved_by)
        return await self._planned(sql, business, identity, source, plan)

    async def _planned(
        self, sql: str, business: BusinessConfig, identity: Identity, source: str, plan: WritePlan
    ) -> QueryResult:
        attempt = Attempt(self.audit, sql, business, identity, source)
        attempt.approved_by = plan.approved_by
        judged = await self._admit(sql, business, identity, attempt)
        if judged.verdict.kind != "write":
            raise SqlRejected("only a write (INSERT, UPDATE or DELETE) has a dry run and an approval")
        return await self._write(judged, business, attempt, plan)

    async def record_decision(
        self, sql: str, *, business: BusinessConfig, identity: Identity,
        outcome: Literal["rejected", "expired"], rows: int | None, rejected_by: str | None = None,
        source: str = "graph",
    ) -> None:  # fmt: skip
        """Audit a generated write that never ran: rejected by a person, or not decided in time."""
        attempt = Attempt(self.audit, sql, business, identity, source)
        verdict = (await self.judge(sql, business, allow_writes=True)).verdict
        await attempt.record(verdict, outcome, rows=rows, rejected_by=rejected_by)

    async def _admit(
        self, sql: str, business: BusinessConfig, identity: Identity, attempt: Attempt
    ) -> Judgement:
        """The business, the guard and the right to write, in this order; each refusal is audited."""
        if not identity.may_access(business.business_id):
            denied = Verdict(allowed=False, kind="unknown", reason="not your business", tables=[])
            await attempt.record(denied, "refused")
            raise TenantDenied(f"{identity.username} may not query {business.business_id}")
        judged = await self.judge(sql, business, allow_writes=True)
        verdict = judged.verdict
        if verdict.kind == "write":  # who may write comes first: no other reason matters then
            why = write_refusal(business, identity)
            if why:
                verdict = verdict.model_copy(update={"allowed": False, "reason": why, "retryable": False})
        if not verdict.allowed:
            await attempt.record(verdict, "refused")  # refusals are rare and say who probes what
            if verdict.retryable:  # a name the business does not have: the LLM may rewrite it
                raise QueryFailed(verdict.reason)
            raise SqlRejected(verdict.reason)
        return judged

    async def judge(self, sql: str, business: BusinessConfig, *, allow_writes: bool = False) -> Judgement:
        """The guard's judgement with the business's catalog; an unknown name rereads a catalog older than
        a few seconds first, so a table created a moment ago is found."""
        catalog, loaded = await self.catalog(business)
        judged = judge_sql(sql, allow_writes=allow_writes, catalog=catalog)
        if judged.verdict.retryable and time.monotonic() - loaded > CATALOG_RECHECK_S:
            catalog, _ = await self.catalog(business, fresh=True)
            judged = judge_sql(sql, allow_writes=allow_writes, catalog=catalog)
        return judged

    async def catalog(self, business: BusinessConfig, *, fresh: bool = False) -> tuple[Catalog, float]:
        """The business's relations and columns as its reader role sees them, and when they were read."""
        key = self.pools.key(business, business.database.reader_role)
        cached = None if fresh else self._catalogs.get(key)
        if cached is not None:
            return cached

        async def work(conn: AsyncConnection) -> Catalog:
            async with conn.transaction():
                await conn.execute(f"SET LOCAL statement_timeout = {CATALOG_TIMEOUT_MS}")
                return await load_catalog(
                    conn, schemas=READ_ONLY_SCHEMAS, writer_role=business.database.writer_role
                )

        loaded = (await self._with_connection(key, work, business), time.monotonic())
        self._catalogs[key] = loaded
        return loaded

    async def explain(self, sql: str, *, business: BusinessConfig) -> ExplainResult:
        """The plan and estimated cost of a read, without running it (the guard still judges it)."""
        judged = await self.judge(sql, business)
        if not judged.verdict.allowed:
            raise SqlRejected(judged.verdict.reason)
        key = self.pools.key(business, business.database.reader_role)

        async def work(conn: AsyncConnection) -> ExplainResult:
            async with transaction(conn, read_only=True, timeout_ms=business.statement_timeout_ms) as cur:
                plan = await query_plan(cur, judged.statement)
            return ExplainResult(estimated_cost=total_cost(plan), plan=plan)

        return await self._with_connection(key, work, business)

    async def explain_cost(self, sql: str, *, business: BusinessConfig) -> float:
        return (await self.explain(sql, business=business)).estimated_cost

    @asynccontextmanager
    async def reader_connection(self, business: BusinessConfig) -> AsyncIterator[AsyncConnection]:
        """A pooled connection as the business's reader role, for trusted catalog reads (introspection)."""
        pool = await self.pools.get(self.pools.key(business, business.database.reader_role))
        async with pool.connection() as conn:
            yield conn

    async def close(self) -> None:
        await self.pools.close()

    async def _read(self, judged: Judgement, business: BusinessConfig, explain: str | None) -> QueryResult:
        """``explain`` is the whole EXPLAIN statement when the user asked for a plan."""
        started = time.perf_counter()
        key = self.pools.key(business, business.database.reader_role)

        async def work(conn: AsyncConnection) -> QueryResult:
            deadline = Deadline(business.statement_timeout_ms)
            async with transaction(conn, read_only=True, timeout_ms=business.statement_timeout_ms) as cur:
                cost = total_cost(await query_plan(cur, judged.statement))  # EXPLAIN's own query too
                if cost > business.max_cost:
                    raise SqlRejected(over_ceiling(cost, business))
                if explain is not None:  # a plan is as long as its query: no cursor can hold EXPLAIN
                    await cur.execute(explain, binary=True)
                    plan = [list(row) for row in await cur.fetchmany(business.row_cap)]
                    return QueryResult(
                        columns=[c.name for c in cur.description or ()], rows=plan, row_count=len(plan),
                        truncated=False, kind="read", duration_ms=(time.perf_counter() - started) * 1000,
                        estimated_cost=cost,
                    )  # fmt: skip
                columns = await describe(conn, judged.statement)
                rows = capped_rows(columns, business)
                await cur.execute(
                    f"DECLARE {CURSOR} NO SCROLL CURSOR FOR "
                    f"{capped_read(judged.statement, columns, business.max_value_chars)}",
                    binary=True,
                )
                await fetch_capped(cur, CURSOR, rows, deadline)
            return query_result(rows, "read", started, estimated_cost=cost)

        return await self._with_connection(key, work, business)

    async def _write(
        self, judged: Judgement, business: BusinessConfig, attempt: Attempt, plan: WritePlan = AS_WRITTEN
    ) -> QueryResult:
        assert business.database.writer_role  # write_refusal() checked it
        key = self.pools.key(business, business.database.writer_role)
        try:
            return await self._with_connection(
                key, lambda conn: self._write_on(conn, judged, business, attempt, plan), business, check=True
            )
        except (SqlRejected, WriteChanged):
            raise
        except BizsqlError as exc:
            if attempt.commit_entry is not None:
                await attempt.amend(outcome="failed", error=exc.detail)
            elif not attempt.recorded:
                await attempt.record(judged.verdict, "failed", error=exc.detail)
            raise

    async def _write_on(
        self,
        conn: AsyncConnection,
        judged: Judgement,
        business: BusinessConfig,
        attempt: Attempt,
        plan: WritePlan,
    ) -> QueryResult:
        verdict, limit, started = judged.verdict, business.max_write_rows, time.perf_counter()
        try:
            async with transaction(conn, read_only=False, timeout_ms=business.statement_timeout_ms) as cur:
                cost = total_cost(await query_plan(cur, judged.statement))  # writes meet the ceiling too
                if cost > business.max_cost:
                    why = over_ceiling(cost, business)
                    await attempt.record(
                        verdict.model_copy(update={"allowed": False, "reason": why}), "refused"
                    )
                    raise SqlRejected(why)
                expected = await self._rows_to_change(cur, judged, business)
                if expected > limit:
                    await attempt.record(verdict, "refused", rows=expected, error="over the row limit")
                    raise SqlRejected(
                        f"the write would change {expected:,} rows, more than this business's limit of "
                        f"{limit:,}; nothing was run and nothing changed"
                    )
                assert judged.tree is not None
                statement = with_returning(judged.tree) if plan.dry_run else judged.statement
                columns = await describe(conn, statement)
                rows = capped_rows(columns, business, SAMPLE_ROWS if plan.dry_run else None)
                if columns:
                    query = capped_write(statement, columns, business.max_value_chars)
                    await stream_capped(cur, query, rows)
                    affected = rows.seen
                else:
                    await cur.execute(statement, binary=True)
                    affected = cur.rowcount
                if affected > limit:  # more rows matched than were counted a moment ago
                    await attempt.record(verdict, "rolled_back", rows=affected, error="over the row limit")
                    raise SqlRejected(
                        f"the write would change {affected:,} rows, more than this business's limit of "
                        f"{limit:,}; it was rolled back and nothing changed"
                    )
                await end_write(cur, verdict, attempt, plan, affected)
        except psycopg.Error as exc:
            if attempt.commit_entry is None:
                raise  # nothing was committed: the caller may retry on a fresh connection
            raise QueryFailed(
                f"COMMIT failed ({first_line(exc)}); "
                + ("whether the write was applied is unknown" if conn.broken else "nothing was changed")
            ) from exc
        result = query_result(rows, "write", started)
        return result.model_copy(update={"rows_affected": affected, "duration_ms": attempt.elapsed_ms()})

    async def _rows_to_change(
        self, cur: AsyncCursor[Any], judged: Judgement, business: BusinessConfig
    ) -> int:
        """Counted before the write runs, so a refused write draws no sequence value."""
        assert judged.tree is not None
        count = rows_to_change(judged.tree)
        if count.known is not None:
            return count.known
        assert count.query is not None
        catalog, _ = await self.catalog(business)
        if not judge_sql(count.query, catalog=catalog).verdict.allowed:
            raise SqlRejected("could not count the rows this write would change; write it more simply")
        await cur.execute(count.query, binary=True)
        row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def _with_connection(
        self,
        key: PoolKey,
        work: Callable[[AsyncConnection], Awaitable[T]],
        business: BusinessConfig,
        *,
        check: bool = False,
    ) -> T:
        """Run ``work`` on a pooled connection; a broken connection or a dead pool is retried with backoff."""
        try:
            return await self._once(key, work, business, check=check)
        except _Reconnect as first:
            if self.settings.sql_connect_attempts <= 1:
                raise QueryFailed(f"the {business.name} database is unreachable: {first}") from first
            log.warning("sql_connection_retry", business=business.business_id, error=str(first))
        retrying = AsyncRetrying(
            stop=stop_after_attempt(max(self.settings.sql_connect_attempts - 1, 1)),
            wait=wait_exponential_jitter(initial=0.05, max=1.0),
            retry=retry_if_exception_type(_Reconnect),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._once(key, work, business, check=check)
        except _Reconnect as exc:
            raise QueryFailed(f"the {business.name} database is unreachable: {exc}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def _once(
        self,
        key: PoolKey,
        work: Callable[[AsyncConnection], Awaitable[T]],
        business: BusinessConfig,
        *,
        check: bool,
    ) -> T:
        pool = await self.pools.get(key, check=check)
        try:
            async with pool.connection() as conn:
                try:
                    return await work(conn)
                except psycopg.Error as exc:
                    if conn.broken or conn.closed:
                        raise _Reconnect(first_line(exc)) from exc
                    raise database_error(exc, business) from exc
        except PoolTimeout as exc:
            why = await self.pools.probe(key)
            if why is None:
                raise QueryFailed(f"the {business.name} database is busy; try again shortly") from exc
            await self.pools.discard(key)
            raise _Reconnect(why) from exc
        except psycopg.OperationalError as exc:
            await self.pools.discard(key)
            raise _Reconnect(first_line(exc)) from exc
