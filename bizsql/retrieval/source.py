"""Reads a business's schema for the index: a cheap fingerprint per question, full descriptions on rebuild.

Both run as the business's reader role, so the index holds exactly the tables its queries may read.
"""

from __future__ import annotations

from typing import Any

import psycopg

from bizsql.config import Settings
from bizsql.retrieval.table_docs import ColumnDoc, ForeignKeyDoc, TableDoc
from bizsql.stores.business import BusinessConfig
from bizsql.stores.postgres import business_conninfo

FINGERPRINT_SQL = """
SELECT md5(coalesce(string_agg(part, '|' ORDER BY part), ''))
FROM (
    SELECT format('C:%s.%s:%s:%s:%s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                  a.attnotnull, coalesce(col_description(c.oid, a.attnum), '')) AS part
    FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'v', 'm', 'p', 'f')
      AND a.attnum > 0 AND NOT a.attisdropped AND has_table_privilege(c.oid, 'SELECT')
    UNION ALL
    SELECT format('T:%s:%s', c.relname, coalesce(obj_description(c.oid, 'pg_class'), ''))
    FROM pg_class c
    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'v', 'm', 'p', 'f')
      AND has_table_privilege(c.oid, 'SELECT')
    UNION ALL
    SELECT format('K:%s:%s:%s', con.conrelid::regclass, con.contype, pg_get_constraintdef(con.oid))
    FROM pg_constraint con
    WHERE con.connamespace = 'public'::regnamespace AND con.contype IN ('p', 'f')
) parts
"""
"""Catalog reads only (no information_schema views, no table scans): about a millisecond per business."""


class PgSchemaSource:
    """The schema of a business database, read as its reader role (a short connection per call)."""

    def __init__(self, settings: Settings, *, connect_timeout: int = 5) -> None:
        self.settings = settings
        self.connect_timeout = connect_timeout

    def conninfo(self, business: BusinessConfig) -> str:
        assert self.settings.postgres_url, "BIZSQL_POSTGRES_URL must be resolved before the graph runs"
        _, role_secret = self.settings.secret_values()
        return business_conninfo(
            self.settings.postgres_url,
            database=business.database.name,
            role=business.database.reader_role,
            secret=role_secret,
            connect_timeout=self.connect_timeout,
            application_name="bizsql-schema",
        )

    async def fingerprint(self, business: BusinessConfig) -> str:
        async with await psycopg.AsyncConnection.connect(self.conninfo(business), autocommit=True) as conn:
            cur = await conn.execute(FINGERPRINT_SQL)
            row = await cur.fetchone()
        return str(row[0]) if row else ""

    async def describe(self, business: BusinessConfig) -> list[TableDoc]:
        from bizsql.sql import introspect

        described = await introspect.describe_business_schema(self.settings, business)
        return [table_doc(t) for t in described]


def table_doc(table: Any) -> TableDoc:
    """Our index's view of one table description from ``bizsql.sql.introspect``."""
    return TableDoc(
        name=table.name,
        comment=table.comment or "",
        columns=tuple(
            ColumnDoc(
                name=c.name,
                type=c.type,
                comment=c.comment or "",
                samples=tuple(str(v) for v in (c.samples or ())),
                nullable=bool(getattr(c, "nullable", True)),
            )
            for c in table.columns
        ),
        primary_key=tuple(table.primary_key or ()),
        foreign_keys=tuple(
            ForeignKeyDoc(tuple(fk.columns), fk.ref_table, tuple(fk.ref_columns))
            for fk in (table.foreign_keys or ())
        ),
        row_estimate=getattr(table, "row_estimate", None),
    )
