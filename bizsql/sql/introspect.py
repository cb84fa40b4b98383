"""What a business database holds, as its reader role sees it: tables, columns, keys, comments, samples.

Catalog reads as the reader role (never the superuser), so a description lists exactly the tables its
queries may read. The schema index, the MCP ``list_tables``/``describe_table`` tools and ``bizsql sql`` all
use these functions; sample values let the LLM see how data is spelled ('TX', 'delivered').
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import AsyncConnection, sql
from pydantic import BaseModel, Field

from bizsql.config import Settings
from bizsql.errors import NotFound
from bizsql.sql.json_values import json_value
from bizsql.stores.business import BusinessConfig
from bizsql.stores.postgres import business_conninfo

SAMPLE_ROWS = 200
SAMPLE_TEXT_CHARS = 60
INTROSPECT_TIMEOUT_MS = 10_000

TABLES_SQL = """
SELECT c.oid, c.relname, c.relkind, coalesce(obj_description(c.oid, 'pg_class'), ''),
       CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint END
FROM pg_class c
WHERE c.relnamespace = %(schema)s::regnamespace AND c.relkind IN ('r', 'v', 'm', 'p', 'f')
  AND has_table_privilege(c.oid, 'SELECT') AND (%(only)s::text[] IS NULL OR c.relname = ANY(%(only)s))
ORDER BY c.relname
"""
COLUMNS_SQL = """
SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
       coalesce(col_description(a.attrelid, a.attnum), '')
FROM pg_attribute a
WHERE a.attrelid = ANY(%(oids)s) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum
"""
KEYS_SQL = """
SELECT con.conrelid, con.contype,
       ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY AS k(num, pos)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num ORDER BY k.pos),
       CASE WHEN con.contype = 'f' THEN (SELECT relname FROM pg_class WHERE oid = con.confrelid) END,
       ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY AS k(num, pos)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num ORDER BY k.pos)
FROM pg_constraint con
WHERE con.conrelid = ANY(%(oids)s) AND con.contype IN ('p', 'f')
ORDER BY con.conrelid, con.conname
"""


class ColumnDescription(BaseModel):
    name: str
    type: str
    nullable: bool
    comment: str = ""
    samples: list[str] = Field(default_factory=list)


class ForeignKey(BaseModel):
    columns: list[str]
    ref_table: str
    ref_columns: list[str]


class TableDescription(BaseModel):
    """One table or view as the reader role sees it."""

    name: str
    kind: str = "table"
    comment: str = ""
    columns: list[ColumnDescription]
    primary_key: list[str] = Field(default_factory=list)
    foreign_keys: list[ForeignKey] = Field(default_factory=list)
    row_estimate: int | None = None


class TableSummary(BaseModel):
    name: str
    kind: str
    comment: str
    row_estimate: int | None


_KINDS = {"r": "table", "p": "table", "v": "view", "m": "materialized view", "f": "foreign table"}


async def list_tables(conn: AsyncConnection, *, schema: str = "public") -> list[TableSummary]:
    """Every table and view the connected role may SELECT, with its comment and estimated row count."""
    cur = await conn.execute(TABLES_SQL, {"schema": schema, "only": None})
    return [
        TableSummary(name=name, kind=_KINDS.get(kind, kind), comment=comment, row_estimate=rows)
        for _, name, kind, comment, rows in await cur.fetchall()
    ]


async def describe_schema(
    conn: AsyncConnection,
    *,
    schema: str = "public",
    tables: list[str] | None = None,
    sample_values: int = 3,
) -> list[TableDescription]:
    """Full descriptions, in one read-only transaction; ``tables`` narrows it to those names."""
    async with conn.transaction():
        await conn.execute(
            f"SET TRANSACTION READ ONLY; SET LOCAL statement_timeout = {INTROSPECT_TIMEOUT_MS}"
        )
        cur = await conn.execute(TABLES_SQL, {"schema": schema, "only": tables})
        found = await cur.fetchall()
        oids = [row[0] for row in found]
        columns = await _columns(conn, oids)
        keys = await _keys(conn, oids)
        described = []
        for oid, name, kind, comment, rows in found:
            pk, fks = keys.get(oid, ([], []))
            table = TableDescription(
                name=name, kind=_KINDS.get(kind, kind), comment=comment, columns=columns.get(oid, []),
                primary_key=pk, foreign_keys=fks, row_estimate=rows,
            )  # fmt: skip
            if sample_values > 0:
                await _add_samples(conn, schema, table, sample_values)
            described.append(table)
    return described


async def describe_table(
    conn: AsyncConnection, table: str, *, schema: str = "public", sample_values: int = 3
) -> TableDescription:
    found = await describe_schema(conn, schema=schema, tables=[table], sample_values=sample_values)
    if not found:
        raise NotFound(f"no table or view named {table!r} that this business may read")
    return found[0]


async def describe_business_schema(
    settings: Settings, business: BusinessConfig, *, sample_values: int = 3
) -> list[TableDescription]:
    """The whole business schema over a short reader-role connection (no samples in privacy mode)."""
    assert settings.postgres_url, "BIZSQL_POSTGRES_URL must be resolved first"
    conninfo = business_conninfo(
        settings.postgres_url,
        database=business.database.name,
        role=business.database.reader_role,
        secret=settings.secret_values()[1],
        application_name="bizsql-introspect",
        connect_timeout=5,
    )
    async with await psycopg.AsyncConnection.connect(conninfo) as conn:
        return await describe_schema(conn, sample_values=0 if business.privacy_mode else sample_values)


async def _columns(conn: AsyncConnection, oids: list[int]) -> dict[int, list[ColumnDescription]]:
    cur = await conn.execute(COLUMNS_SQL, {"oids": oids})
    columns: dict[int, list[ColumnDescription]] = {}
    for oid, name, type_, nullable, comment in await cur.fetchall():
        columns.setdefault(oid, []).append(
            ColumnDescription(name=name, type=type_, nullable=nullable, comment=comment)
        )
    return columns


async def _keys(conn: AsyncConnection, oids: list[int]) -> dict[int, tuple[list[str], list[ForeignKey]]]:
    cur = await conn.execute(KEYS_SQL, {"oids": oids})
    keys: dict[int, tuple[list[str], list[ForeignKey]]] = {}
    for oid, kind, cols, ref_table, ref_cols in await cur.fetchall():
        pk, fks = keys.setdefault(oid, ([], []))
        if kind == "p":
            pk.extend(cols)
        else:
            fks.append(ForeignKey(columns=cols, ref_table=ref_table, ref_columns=ref_cols))
    return keys


async def _add_samples(conn: AsyncConnection, schema: str, table: TableDescription, per_column: int) -> None:
    """A few distinct values per column from the first rows: enough to show how values are spelled."""
    query = sql.SQL("SELECT * FROM {}.{} LIMIT {}").format(
        sql.Identifier(schema), sql.Identifier(table.name), sql.Literal(SAMPLE_ROWS)
    )
    cur = await conn.execute(query)
    rows = await cur.fetchall()
    for index, column in enumerate(table.columns):
        seen: dict[str, None] = {}
        for row in rows:
            if row[index] is not None:
                seen.setdefault(_sample_text(row[index]), None)
                if len(seen) >= per_column:
                    break
        column.samples = list(seen)


def _sample_text(value: Any) -> str:
    shown = str(value) if isinstance(value, Decimal) else json_value(value)
    text = shown if isinstance(shown, str) else json.dumps(shown, ensure_ascii=False)
    return text if len(text) <= SAMPLE_TEXT_CHARS else text[: SAMPLE_TEXT_CHARS - 1] + "…"
