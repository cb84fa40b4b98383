"""Results with a ceiling on bytes, not only rows: values cut on the server, rows read in measured batches.

A row cap alone does not bound memory: one ``string_agg`` can return hundreds of megabytes in one value,
and libpq holds a whole batch of rows before it hands any over. So every statement whose rows we read is
first described (PostgreSQL parses it; nothing runs), then wrapped so that each value of a type that can
grow is cut on the server to ``max_value_chars`` characters, with a flag column that marks the cut. Reads
come through a cursor in batches sized so that a batch cannot pass the bytes still allowed; a write's
RETURNING rows, which a cursor cannot hold, are streamed one by one.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import psycopg
from psycopg import AsyncConnection, AsyncCursor, generators, pq

from bizsql.errors import QueryTimeout
from bizsql.sql.json_values import json_rows
from bizsql.sql.result import QueryResult
from bizsql.stores.business import BusinessConfig

CUT_MARK = " …[cut]"
FIXED_SIZE_TYPES = frozenset({16, 20, 21, 23, 26, 700, 701, 790, 1082, 1083, 1114, 1184, 1186, 1266, 2950})
"""Type OIDs whose values have a small fixed size (bool, integers, oid, floats, money, dates, times,
timestamps, interval, uuid): they pass through uncut."""
FIXED_VALUE_BYTES = 16
MAX_BATCH_ROWS = 1000


@dataclass(frozen=True)
class Deadline:
    """The statement timeout of a whole read, however many round trips it takes."""

    timeout_ms: int
    started: float = field(default_factory=time.monotonic)

    def left_ms(self) -> int:
        left = self.timeout_ms - int((time.monotonic() - self.started) * 1000)
        if left <= 0:
            raise QueryTimeout(f"the query ran longer than {self.timeout_ms:,} ms and was cancelled")
        return left


@dataclass(frozen=True)
class OutputColumn:
    name: str
    type_oid: int

    @property
    def may_grow(self) -> bool:
        return self.type_oid not in FIXED_SIZE_TYPES


async def describe(conn: AsyncConnection, sql: str) -> list[OutputColumn]:
    """The columns ``sql`` returns, from PostgreSQL's own parse and describe: the statement never runs,
    so a write draws no sequence value and changes nothing."""
    pgconn = conn.pgconn
    pgconn.send_prepare(b"", sql.encode(conn.info.encoding), None)
    await _result(conn)
    pgconn.send_describe_prepared(b"")
    described = await _result(conn)
    return [
        OutputColumn((described.fname(i) or b"?column?").decode(conn.info.encoding), described.ftype(i))
        for i in range(described.nfields)
    ]


async def _result(conn: AsyncConnection) -> pq.abc.PGresult:
    results = await conn.wait(generators.execute(conn.pgconn))
    for result in results:
        if result.status == pq.ExecStatus.FATAL_ERROR:
            raise psycopg.errors.error_from_result(result, encoding=conn.info.encoding)
    return results[-1]


def capped_projection(columns: Sequence[OutputColumn], source: str, max_value_chars: int) -> str:
    """``SELECT`` list over ``source`` (columns c1..cn; their text in ``t``.t1..tn) that cuts each value
    that may grow. The test is on the value's text, not its stored size: a compressed string or a
    numeric like 1e131071 is small on disk and huge as text."""
    limit = int(max_value_chars)
    parts: list[str] = []
    for index, column in enumerate(columns, start=1):
        ref, text = f"{source}.c{index}", f"t.t{index}"
        if not column.may_grow:
            parts.append(ref)
            continue
        parts.append(f"CASE WHEN octet_length({text}) <= {limit} THEN {ref} END")
        parts.append(f"CASE WHEN octet_length({text}) > {limit} THEN left({text}, {limit}) END")
    return ", ".join(parts)


def _as_text(columns: Sequence[OutputColumn], source: str) -> str:
    """Each growable value's text, computed once per row (a LATERAL item named ``t``)."""
    texts = [f"{source}.c{i}::text AS t{i}" for i, c in enumerate(columns, start=1) if c.may_grow]
    return f" CROSS JOIN LATERAL (SELECT {', '.join(texts)}) AS t" if texts else ""


def capped_read(statement: str, columns: Sequence[OutputColumn], max_value_chars: int) -> str:
    """A read whose values are cut on the server; ``OFFSET 0`` keeps each value computed once."""
    names = ", ".join(f"c{i}" for i in range(1, len(columns) + 1))
    return (
        f"SELECT {capped_projection(columns, 'q', max_value_chars)} "
        f"FROM (SELECT * FROM (\n{statement}\n) AS s OFFSET 0) AS q({names}){_as_text(columns, 'q')}"
    )


def capped_write(statement: str, columns: Sequence[OutputColumn], max_value_chars: int) -> str:
    """A write whose RETURNING values are cut on the server (the write itself runs exactly once)."""
    names = ", ".join(f"c{i}" for i in range(1, len(columns) + 1))
    projection = capped_projection(columns, "w", max_value_chars)
    return f"WITH w({names}) AS (\n{statement}\n) SELECT {projection} FROM w{_as_text(columns, 'w')}"


@dataclass
class CappedRows:
    """Rows read under a row cap and a byte cap, with the cut values already marked."""

    columns: Sequence[OutputColumn]
    row_cap: int
    max_bytes: int
    max_value_chars: int
    rows: list[list[Any]] = field(default_factory=list)
    bytes_read: int = 0
    seen: int = 0
    values_cut: int = 0
    truncated_by: Literal["rows", "bytes"] | None = None

    @property
    def full(self) -> bool:
        return self.truncated_by is not None

    def batch_size(self) -> int:
        """Rows to fetch next so that a batch cannot pass the bytes still allowed (at least one)."""
        widest = sum(4 * self.max_value_chars if c.may_grow else FIXED_VALUE_BYTES for c in self.columns) or 1
        room = max(self.max_bytes - self.bytes_read, 0) // widest
        return max(1, min(room, self.row_cap + 1 - len(self.rows), MAX_BATCH_ROWS))

    def add(self, raw: Sequence[Any], size: int) -> None:
        """One wire row (value, cut pairs for growable columns); past either cap, it only ends the read."""
        self.seen += 1
        if self.full:
            return
        if len(self.rows) >= self.row_cap:
            self.truncated_by = "rows"
            return
        if self.bytes_read + size > self.max_bytes:
            self.truncated_by = "bytes"
            return
        self.bytes_read += size
        self.rows.append(self._values(raw))

    def _values(self, raw: Sequence[Any]) -> list[Any]:
        values: list[Any] = []
        position = 0
        for column in self.columns:
            value = raw[position]
            position += 1
            if column.may_grow:
                cut = raw[position]
                position += 1
                if cut is not None:
                    self.values_cut += 1
                    value = cut + CUT_MARK
            values.append(value)
        return values


async def fetch_capped(
    cur: AsyncCursor[Any], cursor_name: str, capped: CappedRows, deadline: Deadline
) -> None:
    """Read a declared cursor in batches until it ends or a cap is reached, then COMMIT.

    A batch that may be the last carries the COMMIT with it (one round trip for most results): if it
    comes back full, more rows exist than the row cap allows, so the cursor is not needed again. Each
    batch may take only the time the whole read has left, so many batches cannot outlast one timeout."""
    while not capped.full:
        size = capped.batch_size()
        last = size >= capped.row_cap + 1 - len(capped.rows)
        fetch = f"SET LOCAL statement_timeout = {deadline.left_ms()}; FETCH FORWARD {size} FROM {cursor_name}"
        await cur.execute(fetch + ("; COMMIT" if last else ""))
        cur.nextset()  # past the SET, to the FETCH's rows
        rows = await cur.fetchall()
        for row in rows:
            capped.add(row, row_bytes(row))
        if last or len(rows) < size:
            return


async def stream_capped(cur: AsyncCursor[Any], sql: str, capped: CappedRows) -> None:
    """Stream every row of a statement that must run to its end (a write), keeping what the caps allow."""
    rows: AsyncIterator[Any] = cur.stream(sql, binary=True)
    async for row in rows:
        capped.add(row, row_bytes(row))


def row_bytes(row: Sequence[Any]) -> int:
    """About what the row costs in memory: text and bytes by length, documents and decimals by their text
    (a cut already bounds both), the rest 8."""
    size = 0
    for value in row:
        if isinstance(value, str | bytes):
            size += len(value)
        elif isinstance(value, dict | list | Decimal):
            size += len(str(value))
        else:
            size += 8
    return size


def capped_rows(columns: list[OutputColumn], business: BusinessConfig, cap: int | None = None) -> CappedRows:
    """Rows under the business's caps (and ``cap`` rows at most, for a dry run's sample)."""
    row_cap = min(cap, business.row_cap) if cap is not None else business.row_cap
    return CappedRows(columns, row_cap, business.max_result_bytes, business.max_value_chars)


def query_result(
    rows: CappedRows, kind: Literal["read", "write"], started: float, *, estimated_cost: float | None = None
) -> QueryResult:
    """The statement's result from the rows read, with how long it took since ``started``."""
    return QueryResult.model_construct(  # built from our own typed values: no re-validation
        columns=[c.name for c in rows.columns],
        rows=json_rows(rows.rows, [c.type_oid for c in rows.columns]),  # type: ignore[arg-type]
        row_count=len(rows.rows),
        truncated=rows.truncated_by is not None,
        kind=kind,
        rows_affected=None,
        duration_ms=(time.perf_counter() - started) * 1000,
        estimated_cost=estimated_cost,
        truncated_by=rows.truncated_by,
        values_cut=rows.values_cut,
    )
