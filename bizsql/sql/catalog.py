"""The relations a business's statements may name, with their columns and who may write them.

The guard resolves every table and column of a statement against this, so a name that is not a real
column of a table in scope (PostgreSQL's attribute notation, ``t.some_function``, calls a function) and a
write to anything but a business table are refused. It is read as the reader role from the catalog, so
it lists exactly what that role may SELECT, and it asks the catalog what the writer role may change.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from psycopg import AsyncConnection

from bizsql.sql import policy

DEFAULT_SCHEMA = "public"

CATALOG_SQL = """
SELECT n.nspname, c.relname, array_agg(a.attname::text ORDER BY a.attnum),
       array_remove(ARRAY[
         CASE WHEN %(writer)s::text IS NOT NULL AND has_table_privilege(%(writer)s, c.oid, 'INSERT')
              THEN 'INSERT' END,
         CASE WHEN %(writer)s::text IS NOT NULL AND has_table_privilege(%(writer)s, c.oid, 'UPDATE')
              THEN 'UPDATE' END,
         CASE WHEN %(writer)s::text IS NOT NULL AND has_table_privilege(%(writer)s, c.oid, 'DELETE')
              THEN 'DELETE' END], NULL)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f')
  AND ((n.nspname = ANY(%(schemas)s) AND has_table_privilege(c.oid, 'SELECT'))
       OR (n.nspname = 'information_schema' AND c.relname = ANY(%(safe)s)))
GROUP BY n.nspname, c.relname, c.oid
"""


@dataclass(frozen=True)
class Catalog:
    """Relations by ``schema.name`` (PostgreSQL's own spelling), each with its columns in order."""

    columns: Mapping[str, tuple[str, ...]]
    writable: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def relation(self, schema: str, name: str) -> tuple[str, ...] | None:
        """The columns of ``schema.name`` (the default schema when ``schema`` is empty), or None."""
        return self.columns.get(f"{schema or DEFAULT_SCHEMA}.{name}")

    def may_write(self, schema: str, name: str, verb: str) -> bool:
        return verb in self.writable.get(f"{schema or DEFAULT_SCHEMA}.{name}", frozenset())

    def writable_tables(self, verb: str) -> list[str]:
        names = (
            key.removeprefix(f"{DEFAULT_SCHEMA}.") for key, verbs in self.writable.items() if verb in verbs
        )
        return sorted(names)


async def load_catalog(
    conn: AsyncConnection, *, schemas: Collection[str], writer_role: str | None
) -> Catalog:
    """Read the catalog as the connected (reader) role; ``writer_role``'s write rights come along."""
    cur = await conn.execute(
        CATALOG_SQL,
        {"schemas": sorted(schemas), "writer": writer_role, "safe": sorted(policy.SAFE_INFORMATION_SCHEMA)},
    )
    columns: dict[str, tuple[str, ...]] = {}
    writable: dict[str, frozenset[str]] = {}
    for schema, name, names, verbs in await cur.fetchall():
        key = f"{schema}.{name}"
        columns[key] = tuple(names)
        if verbs and schema != "information_schema":
            writable[key] = frozenset(verbs)
    return Catalog(columns=columns, writable=writable)
