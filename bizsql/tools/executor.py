"""The one path every SQL statement takes to a business database: guard, role, transaction, limits, audit.

Reads run as the business's reader role in a ``READ ONLY`` transaction with ``SET LOCAL
statement_timeout``; ``EXPLAIN`` prices them first and a plan over the business's cost ceiling never runs.
Rows come through a server-side cursor, so a million-row result costs ``row_cap + 1`` rows of memory.
Writes run as the writer role, only when the business allows writes and the user is an editor or admin,
with a ceiling on affected rows, and every attempt is audited. Statements go over the extended protocol
(``binary=True``), where PostgreSQL itself refuses a second statement.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any, Literal, TypeVar

import psycopg
import structlog
from psycopg import AsyncConnection, AsyncCursor, pq
from psycopg_pool import PoolTimeout
from pydantic import BaseModel
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from bizsql.auth.identity import Identity
from bizsql.config import Settings
from bizsql.errors import BizsqlError, QueryFailed, QueryTimeout, SqlRejected, TenantDenied
from bizsql.stores.business import BusinessConfig
from bizsql.tools.audit import Attempt, MongoAudit, as_audit_sink
from bizsql.tools.json_values import json_rows
from bizsql.tools.pools import BusinessPools, PoolKey
from bizsql.tools.sql_guard import Verdict, judge_sql

__all__ = ["ExplainResult", "MongoAudit", "QueryResult", "SqlExecutor"]

log = structlog.get_logger(__name__)
T = TypeVar("T")
CURSOR = "bizsql_rows"


class QueryResult(BaseModel):
    """Rows as JSON-safe values; ``truncated`` says the result had more than the business's row cap."""

    columns: list[str]
    rows: list[list[Any]]
    row_count: int
    truncated: bool
    kind: Literal["read", "write"]
    rows_affected: int | None = None
    duration_ms: float
    estimated_cost: float | None = None


class ExplainResult(BaseModel):
    estimated_cost: float
    plan: Any


class _Reconnect(Exception):
    """The connection or the pool broke before the statement could take effect: safe to try again."""


class SqlExecutor:
    """Guarded execution against per-business pools; one instance per process (or per event loop)."""

    def __init__(self, settings: Settings, audit: Any = None) -> None:
        self.settings = settings
        self.audit = as_audit_sink(audit)
        self.pools = BusinessPools(settings)

    async def run(
        self, sql: str, *, business: BusinessConfig, identity: Identity, source: str = "graph"
    ) -> QueryResult:
        """Run one statement for ``identity``; raises SqlRejected, TenantDenied, QueryFailed, QueryTimeout."""
        attempt = Attempt(self.audit, sql, business, identity, source)
        if not identity.may_access(business.business_id):
            denied = Verdict(allowed=False, kind="unknown", reason="not your business", tables=[])
            await attempt.record(denied, "refused")
            raise TenantDenied(f"{identity.username} may not query {business.business_id}")
        verdict, verb = judge_sql(sql, allow_writes=True)
        if verdict.allowed and verdict.kind == "write":
            why = write_refusal(business, identity)
            if why:
                verdict = verdict.model_copy(update={"allowed": False, "reason": why})
        if not verdict.allowed:
            await attempt.record(verdict, "refused")  # refusals are rare and say who probes what
            raise SqlRejected(verdict.reason)
        if verdict.kind == "write":
            return await self._write(sql, business, attempt, verdict)
        try:
            result = await self._read(sql, business, explain=verb == "EXPLAIN")
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

    async def explain(self, sql: str, *, business: BusinessConfig) -> ExplainResult:
        """The plan and estimated cost of a read, without running it (the guard still judges it)."""
        verdict = judge_sql(sql)[0]
        if not verdict.allowed:
            raise SqlRejected(verdict.reason)
        key = self.pools.key(business, business.database.reader_role)

        async def work(conn: AsyncConnection) -> ExplainResult:
            async with _transaction(conn, read_only=True, timeout_ms=business.statement_timeout_ms) as cur:
                await cur.execute(f"EXPLAIN (FORMAT JSON) {sql}", binary=True)
                row = await cur.fetchone()
            plan = row[0] if row else None
            return ExplainResult(estimated_cost=_total_cost(plan), plan=plan)

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

    async def _read(self, sql: str, business: BusinessConfig, *, explain: bool) -> QueryResult:
        started = time.perf_counter()
        key = self.pools.key(business, business.database.reader_role)

        async def work(conn: AsyncConnection) -> QueryResult:
            cap, cost = business.row_cap, None
            async with _transaction(conn, read_only=True, timeout_ms=business.statement_timeout_ms) as cur:
                if explain:
                    await cur.execute(sql, binary=True)
                else:
                    await cur.execute(f"EXPLAIN (FORMAT JSON) {sql}", binary=True)
                    plan_row = await cur.fetchone()
                    cost = _total_cost(plan_row[0] if plan_row else None)
                    if cost > business.max_cost:
                        raise SqlRejected(
                            f"the query's estimated cost {cost:,.0f} is over this business's ceiling of "
                            f"{business.max_cost:,.0f}; filter or aggregate more before it can run"
                        )
                    await cur.execute(f"DECLARE {CURSOR} NO SCROLL CURSOR FOR {sql}", binary=True)
                    await cur.execute(f"FETCH FORWARD {cap + 1} FROM {CURSOR}; COMMIT")
                rows = await cur.fetchmany(cap + 1)
                description = cur.description or []
            return QueryResult.model_construct(  # built from our own typed values: no re-validation
                columns=[c.name for c in description],
                rows=json_rows(rows[:cap], [c.type_code for c in description]),
                row_count=min(len(rows), cap),
                truncated=len(rows) > cap,
                kind="read",
                rows_affected=None,
                duration_ms=(time.perf_counter() - started) * 1000,
                estimated_cost=cost,
            )

        return await self._with_connection(key, work, business)

    async def _write(
        self, sql: str, business: BusinessConfig, attempt: Attempt, verdict: Verdict
    ) -> QueryResult:
        assert business.database.writer_role  # write_refusal() checked it
        key = self.pools.key(business, business.database.writer_role)
        try:
            return await self._with_connection(
                key, lambda conn: self._write_on(conn, sql, business, attempt, verdict), business, check=True
            )
        except SqlRejected:
            raise
        except BizsqlError as exc:
            if attempt.commit_entry is not None:
                await attempt.amend(outcome="failed", error=exc.detail)
            elif not attempt.recorded:
                await attempt.record(verdict, "failed", error=exc.detail)
            raise

    async def _write_on(
        self, conn: AsyncConnection, sql: str, business: BusinessConfig, attempt: Attempt, verdict: Verdict
    ) -> QueryResult:
        try:
            async with _transaction(conn, read_only=False, timeout_ms=business.statement_timeout_ms) as cur:
                await cur.execute(sql, binary=True)
                rows = await cur.fetchmany(business.row_cap + 1) if cur.description else []
                columns = [c.name for c in cur.description or ()]
                affected = cur.rowcount
                if affected > business.max_write_rows:
                    await attempt.record(verdict, "rolled_back", rows=affected, error="over the row limit")
                    raise SqlRejected(
                        f"the write would change {affected:,} rows, more than this business's limit of "
                        f"{business.max_write_rows:,}; it was rolled back and nothing changed"
                    )
                attempt.commit_entry = await attempt.record(
                    verdict, "committed", rows=affected, required=True
                )
        except psycopg.Error as exc:
            if attempt.commit_entry is None:
                raise  # nothing was committed: the caller may retry on a fresh connection
            raise QueryFailed(
                f"COMMIT failed ({_first_line(exc)}); "
                + ("whether the write was applied is unknown" if conn.broken else "nothing was changed")
            ) from exc
        cap = business.row_cap
        return QueryResult(
            columns=columns,
            rows=json_rows(rows[:cap]),
            row_count=min(len(rows), cap),
            truncated=len(rows) > cap,
            kind="write",
            rows_affected=affected,
            duration_ms=attempt.elapsed_ms(),
        )

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
                        raise _Reconnect(_first_line(exc)) from exc
                    raise _database_error(exc, business) from exc
        except PoolTimeout as exc:
            why = await self.pools.probe(key)
            if why is None:
                raise QueryFailed(f"the {business.name} database is busy; try again shortly") from exc
            await self.pools.discard(key)
            raise _Reconnect(why) from exc
        except psycopg.OperationalError as exc:
            await self.pools.discard(key)
            raise _Reconnect(_first_line(exc)) from exc


def write_refusal(business: BusinessConfig, identity: Identity) -> str | None:
    """Why this user may not write to this business, or None when they may."""
    if not business.allow_writes:
        return f"writes are disabled for {business.name}"
    if not identity.may_write:
        return f"{identity.username} is an {identity.role}; only editors and admins may write"
    if not business.database.writer_role:
        return f"{business.name} has no writer role configured"
    return None


@asynccontextmanager
async def _transaction(
    conn: AsyncConnection, *, read_only: bool, timeout_ms: int
) -> AsyncIterator[AsyncCursor[Any]]:
    """BEGIN [READ ONLY] and the SET LOCALs in one round trip; ROLLBACK on any error.

    Our own statements go over the simple protocol (several per round trip); the user's statement always
    goes over the extended protocol (``binary=True``), where PostgreSQL accepts exactly one statement.
    ``standard_conforming_strings`` is pinned on because the guard's tokenizer assumes it: with it off,
    ``'\\'`` would end a string for the guard but not for the server.
    """
    cur = conn.cursor()
    mode = " READ ONLY" if read_only else ""
    await cur.execute(
        f"BEGIN{mode}; SET LOCAL statement_timeout = {int(timeout_ms)}; "
        "SET LOCAL standard_conforming_strings = on"
    )
    try:
        yield cur
    except BaseException:
        if not conn.broken and conn.info.transaction_status in _OPEN:
            with suppress(psycopg.Error):  # the connection went bad: the pool discards it
                await conn.execute("ROLLBACK")
        raise
    if conn.info.transaction_status in _OPEN:
        await cur.execute("COMMIT")


_OPEN = (pq.TransactionStatus.INTRANS, pq.TransactionStatus.INERROR)


def _total_cost(plan: Any) -> float:
    """The planner's total cost; a plan we cannot read fails closed rather than skipping the ceiling."""
    try:
        return float(plan[0]["Plan"]["Total Cost"])
    except (LookupError, TypeError, ValueError) as exc:
        raise QueryFailed("could not read the query plan's estimated cost") from exc


def _database_error(exc: psycopg.Error, business: BusinessConfig) -> BizsqlError:
    if isinstance(exc, psycopg.errors.QueryCanceled):
        return QueryTimeout(
            f"the query ran longer than {business.statement_timeout_ms:,} ms and was cancelled"
        )
    hint = exc.diag.message_hint if isinstance(exc, psycopg.DatabaseError) else None
    return QueryFailed(_first_line(exc) + (f" (hint: {hint})" if hint else ""))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
