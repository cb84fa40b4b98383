"""One guarded transaction on a business connection: its limits, the planner's price, and its errors.

``transaction`` opens it with the statement timeout and the string setting the guard assumes; ``query_plan``
and ``total_cost`` price a statement before it runs (a plan we cannot read fails closed);
``database_error`` turns PostgreSQL's errors into bizsql's typed ones.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

import psycopg
from psycopg import AsyncConnection, AsyncCursor, pq

from bizsql.errors import BizsqlError, QueryFailed, QueryTimeout
from bizsql.stores.business import BusinessConfig


def over_ceiling(cost: float, business: BusinessConfig) -> str:
    return (
        f"the statement's estimated cost {cost:,.0f} is over this business's ceiling of "
        f"{business.max_cost:,.0f}; filter or aggregate more before it can run"
    )


async def query_plan(cur: AsyncCursor[Any], statement: str) -> Any:
    await cur.execute(f"EXPLAIN (FORMAT JSON) {statement}", binary=True)
    row = await cur.fetchone()
    return row[0] if row else None


@asynccontextmanager
async def transaction(
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
        if not conn.broken and conn.info.transaction_status in OPEN:
            with suppress(psycopg.Error):  # the connection went bad: the pool discards it
                await conn.execute("ROLLBACK")
        raise
    if conn.info.transaction_status in OPEN:
        await cur.execute("COMMIT")


OPEN = (pq.TransactionStatus.INTRANS, pq.TransactionStatus.INERROR)


def total_cost(plan: Any) -> float:
    """The planner's total cost; a plan we cannot read fails closed rather than skipping the ceiling."""
    try:
        return float(plan[0]["Plan"]["Total Cost"])
    except (LookupError, TypeError, ValueError) as exc:
        raise QueryFailed("could not read the query plan's estimated cost") from exc


def database_error(exc: psycopg.Error, business: BusinessConfig) -> BizsqlError:
    if isinstance(exc, psycopg.errors.QueryCanceled):
        return QueryTimeout(
            f"the query ran longer than {business.statement_timeout_ms:,} ms and was cancelled"
        )
    if isinstance(exc, psycopg.errors.ConfigurationLimitExceeded):  # temp_file_limit: a huge result
        return QueryFailed(
            f"the result is larger than {business.name}'s database allows ({first_line(exc)}); "
            "ask for fewer rows or smaller values"
        )
    hint = exc.diag.message_hint if isinstance(exc, psycopg.DatabaseError) else None
    return QueryFailed(first_line(exc) + (f" (hint: {hint})" if hint else ""))


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
