"""Names resolved the way PostgreSQL resolves them: by scope, with sqlglot's scope module.

A flat list of names is not enough. A CTE is used only where it is in scope (its own WITH's query and the
later siblings, or itself when RECURSIVE); anywhere else the same name means a real relation, and an
unqualified ``pg_*`` name means the system catalog. ``t.c`` is a column only when ``c`` really is a column
of the source ``t`` names in scope: otherwise PostgreSQL calls the function ``c`` on the row
(attribute notation, ``g.pg_sleep``). System columns (``xmin``, ``ctid``...) expose other tenants'
write activity. A write is judged as the SELECT that reads the same names (its SET values, WHERE and
RETURNING), and its target must be a business table that the writer role may change.

With a ``Catalog`` (the executor always has one), every relation must be one of the business's and every
qualified column one of its real columns. Without one (the graph's early check), the same scope rules
hold, but what a real table holds is left to the executor's check.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlglot.expressions as exp
from sqlglot.errors import OptimizeError
from sqlglot.optimizer.scope import Scope, traverse_scope, walk_in_scope

from bizsql.sql import policy
from bizsql.sql.catalog import DEFAULT_SCHEMA, Catalog
from bizsql.sql.verdict import Kind, Refused

SYSTEM_COLUMNS = frozenset({"xmin", "xmax", "cmin", "cmax", "ctid", "tableoid"})
RECORD_FUNCTIONS = {
    **dict.fromkeys(("json_each", "jsonb_each", "json_each_text", "jsonb_each_text"), ("key", "value")),
    **dict.fromkeys(
        (
            "json_array_elements",
            "jsonb_array_elements",
            "json_array_elements_text",
            "jsonb_array_elements_text",
        ),
        ("value",),
    ),
}
"""Set-returning functions whose rows have named columns (the others return one column, named after
the function or its alias)."""

_SOURCE = "__bizsql_source"
_TARGET = "bizsql_write_target"
_VERBS = {"insert": "INSERT", "update": "UPDATE", "delete": "DELETE"}
Columns = tuple[str, ...]


@dataclass(frozen=True)
class Names:
    """What resolution found: the real relations named, and which of them a write targets."""

    tables: list[str]
    target: str | None = None


def resolve(
    root: exp.Expr, sql: str, *, kind: Kind, catalog: Catalog | None, schemas: frozenset[str]
) -> Names:
    """Resolve every table and column of ``root`` (parsed from ``sql``); raises ``Refused`` for a name
    that PostgreSQL would read otherwise."""
    target = _check_target(root, catalog, schemas, kind) if isinstance(root, _WRITES) else None
    query = as_query(root)
    try:
        scopes = traverse_scope(query)
        resolver = _Resolver(catalog, kind, schemas, sql)
        tables = resolver.relations(query, scopes)
        for scope in scopes:
            resolver.check_columns(scope)
    except OptimizeError as exc:
        raise Refused(f"could not resolve the statement's names: {exc}", kind, retryable=True) from None
    return Names(tables=[target, *tables] if target else tables, target=target)


_WRITES = (exp.Insert, exp.Update, exp.Delete)


def as_query(root: exp.Expr) -> exp.Expr:
    """A SELECT that names what ``root`` names in the same scopes: a write's target, sources, values,
    WHERE and RETURNING (PostgreSQL resolves them exactly as it would in that query)."""
    if not isinstance(root, _WRITES):
        return root
    target = _target_table(root)
    values: list[exp.Expr] = []
    joins: list[exp.Expr] = []
    if isinstance(root, exp.Update):
        values = [e.expression for e in root.expressions if isinstance(e, exp.EQ)]
        from_ = root.args.get("from_")
        joins = [from_.this] if isinstance(from_, exp.From) else []
    elif isinstance(root, exp.Delete):
        joins = list(root.args.get("using") or [])
    else:
        conflict = root.args.get("conflict")
        if conflict is not None:
            values = [e.expression for e in conflict.expressions or [] if isinstance(e, exp.EQ)]
            keys = conflict.args.get("conflict_keys") or []
            values += [k.this if isinstance(k, exp.Ordered) else k for k in keys]
            if conflict.args.get("where") is not None:
                values.append(conflict.args["where"].this)
            joins.append(_as_relation(exp.Table(this=target.this.copy(), alias=_alias("excluded"))))
        source = root.expression
        if isinstance(source, exp.Query | exp.Values):
            joins.append(exp.Subquery(this=source.copy(), alias=_alias(_SOURCE)))
    returning = root.args.get("returning")
    values += list(returning.expressions) if isinstance(returning, exp.Returning) else []
    query = exp.Select(expressions=[v.copy() for v in values] or [exp.Literal.number(1)])
    query.set("from_", exp.From(this=_as_relation(target.copy())))
    query.set("joins", [exp.Join(this=j.copy()) for j in joins])
    for key in ("where", "with_"):
        if root.args.get(key) is not None:
            query.set(key, root.args[key].copy())
    return query


def _as_relation(table: exp.Table) -> exp.Table:
    """The write's target as a FROM item: always the real table (PostgreSQL never writes through a CTE of
    the same name), whose columns are its real ones. ``_check_target`` has judged it already."""
    if not table.db:
        table.set("db", exp.to_identifier(DEFAULT_SCHEMA))
        table.meta[_TARGET] = True
    return table


def _alias(name: str) -> exp.TableAlias:
    return exp.TableAlias(this=exp.to_identifier(name))


def _target_table(root: exp.Expr) -> exp.Table:
    target = root.this
    if isinstance(target, exp.Schema):
        target = target.this
    if not isinstance(target, exp.Table) or not isinstance(target.this, exp.Identifier):
        raise Refused("a write must name one table as its target", "write")
    return target


def _check_target(root: exp.Expr, catalog: Catalog | None, schemas: frozenset[str], kind: Kind) -> str:
    """The target must be a table of the business's schema that the writer role may change."""
    target = _target_table(root)
    verb = _VERBS[root.key]
    name, schema = target.name, target.db
    shown = f"{schema}.{name}" if schema else name
    if target.catalog or schema == "information_schema" or "pg_" in (schema[:3], name[:3]):
        raise Refused(f"{verb} may change only the business's own tables, not {shown}", kind)
    if schema and schema not in schemas:
        raise Refused(f"schema {schema} is not allowed; only {', '.join(sorted(schemas))}", kind)
    if catalog is None:
        return shown
    if not catalog.may_write(schema, name, verb):
        allowed = ", ".join(catalog.writable_tables(verb)) or "none"
        raise Refused(f"{verb} is not allowed on {shown}; this business may {verb} only: {allowed}", kind)
    columns = catalog.relation(schema, name) or ()
    for written in _written_columns(root):
        if written not in columns:
            raise Refused(f"{shown} has no column {written}", kind, retryable=True)
    return shown


def _written_columns(root: exp.Expr) -> list[str]:
    if isinstance(root, exp.Update):
        pairs = [e for e in root.expressions if isinstance(e, exp.EQ)]
        return [e.this.name for e in pairs if isinstance(e.this, exp.Column)]
    if isinstance(root, exp.Insert) and isinstance(root.this, exp.Schema):
        return [c.name for c in root.this.expressions]
    return []


class _Resolver:
    """Resolution over one statement's scopes, with each derived source's output columns worked out once."""

    def __init__(self, catalog: Catalog | None, kind: Kind, schemas: frozenset[str], sql: str) -> None:
        self.catalog, self.kind, self.schemas, self.sql = catalog, kind, schemas, sql
        self._outputs: dict[int, Columns | None] = {}

    def relations(self, query: exp.Expr, scopes: list[Scope]) -> list[str]:
        """Every table reference that is not a CTE in scope is a real relation, and must be allowed."""
        ctes = {id(t) for s in scopes for t in s.tables if not t.db and t.name in s.cte_sources}
        found: list[str] = []
        for table in query.find_all(exp.Table):
            if not isinstance(table.this, exp.Identifier):
                continue  # a table function such as generate_series(...): judged as a function
            if table.meta.get(_TARGET):
                continue  # the write's target, named in the verdict by _check_target
            if id(table) in ctes:
                if table.name.startswith("pg_"):
                    raise Refused(f"a CTE may not be named like the system catalog ({table.name})", self.kind)
                continue
            found.append(self._relation(table))
        return found

    def _relation(self, table: exp.Table) -> str:
        name, schema, kind = table.name, table.db, self.kind
        shown = f"{schema}.{name}" if schema else name
        if table.catalog:
            raise Refused(f"{table.catalog}.{shown}: other databases are not reachable", kind)
        if schema == "information_schema":
            if name not in policy.SAFE_INFORMATION_SCHEMA:
                raise Refused(f"information_schema.{name} is not allowed", kind)
        elif schema.startswith("pg_") or (not schema and name.startswith("pg_")):
            raise Refused(f"the system catalog ({schema or 'pg_catalog'}.{name}) is not allowed", kind)
        elif schema and schema not in self.schemas:
            raise Refused(f"schema {schema} is not allowed; only {', '.join(sorted(self.schemas))}", kind)
        if self.catalog is not None and self.catalog.relation(schema, name) is None:
            raise Refused(f"there is no table or view named {shown} in this business", kind, retryable=True)
        return shown

    def check_columns(self, scope: Scope) -> None:
        for node in walk_in_scope(scope.expression):
            if type(node) is exp.Column and not isinstance(node.this, exp.Star):
                self._check_column(scope, node)

    def _check_column(self, scope: Scope, column: exp.Column) -> None:
        name, kind = column.name, self.kind
        if column.args.get("db") is not None or column.args.get("catalog") is not None:
            raise Refused(f"{column.sql('postgres')}: write columns as table.column", kind, retryable=True)
        if not column.table:
            if name in SYSTEM_COLUMNS:  # a bare name: at the innermost level a table's own system column
                raise Refused(f"the system column {name} is not allowed", kind)
            return
        source = _find_source(scope, column.table)
        if source is None:
            raise Refused(f"{column.table}.{name}: nothing named {column.table} here", kind, retryable=True)
        columns = self.source_columns(source)
        if columns is not None and name in columns:
            return
        if name in SYSTEM_COLUMNS:
            raise Refused(f"the system column {column.table}.{name} is not allowed", kind)
        if columns is None and (self.catalog is None or _is_relation(source)):
            return  # no catalog here: the executor checks this column against the real table
        raise Refused(
            f"{column.table}.{name} is not a column of {column.table} (attribute notation would call a "
            f"function {name}() on its rows)",
            kind,
            retryable=True,
        )

    def source_columns(self, source: exp.Expr | Scope) -> Columns | None:
        key = id(source)
        if key not in self._outputs:
            self._outputs[key] = None  # a cycle (a recursive CTE's own name) resolves to "unknown"
            self._outputs[key] = self._source_columns(source)
        return self._outputs[key]

    def _source_columns(self, source: exp.Expr | Scope) -> Columns | None:
        if isinstance(source, Scope):
            return _renamed(self._query_columns(source), source.outer_columns or _cte_aliases(source))
        if isinstance(source, exp.Table) and isinstance(source.this, exp.Identifier):
            found = self.catalog.relation(source.db, source.name) if self.catalog else None
            return _renamed(found, source.alias_column_names) if found is not None else None
        return _function_columns(source, self.sql)

    def _query_columns(self, scope: Scope) -> Columns | None:
        node = scope.expression
        if isinstance(node, exp.Subquery):
            node = node.unnest()
        if isinstance(node, exp.SetOperation):  # a set operation's columns are its first branch's
            return self._query_columns(scope.set_operation_scopes[0]) if scope.set_operation_scopes else None
        if isinstance(node, exp.Values):
            first = node.expressions[0] if node.expressions else None
            width = len(first.expressions) if isinstance(first, exp.Tuple) else 1
            return tuple(f"column{i + 1}" for i in range(width))
        if isinstance(node, exp.Lateral | exp.Unnest):
            if scope.subquery_scopes:
                return _renamed(self._query_columns(scope.subquery_scopes[-1]), node.alias_column_names)
            return _function_columns(node, self.sql)
        if not isinstance(node, exp.Select):
            return None
        names: list[str] = []
        for projection in node.expressions:
            star = _star_of(projection)
            if star is None:
                names.append(output_name(projection, self.sql))
                continue
            sources = (
                [s for _, s in scope.selected_sources.values()]
                if star == "*"
                else [s for n, (_, s) in scope.selected_sources.items() if n == star]
            )
            for source in sources:
                columns = self.source_columns(source)
                if columns is None:
                    return None
                names.extend(columns)
        return tuple(names)


def _find_source(scope: Scope | None, name: str) -> exp.Expr | Scope | None:
    """The FROM item ``name`` refers to: the innermost level that has one, as in PostgreSQL."""
    while scope is not None:
        selected = scope.selected_sources.get(name)
        if selected is not None:
            return selected[1]
        scope = scope.parent
    return None


def _is_relation(source: exp.Expr | Scope) -> bool:
    return isinstance(source, exp.Table) and isinstance(source.this, exp.Identifier)


def _cte_aliases(scope: Scope) -> list[str]:
    """A recursive CTE's column list, for its own name inside it (sqlglot scopes that as the base case)."""
    node = scope.expression.parent
    while isinstance(node, exp.SetOperation | exp.Subquery):
        node = node.parent
    return node.alias_column_names if isinstance(node, exp.CTE) else []


def _renamed(columns: Columns | None, aliases: list[str]) -> Columns | None:
    """Column aliases rename the first columns; the rest keep their names (PostgreSQL's rule)."""
    if not aliases:
        return columns
    if columns is None:
        return tuple(aliases)
    return tuple(aliases) + columns[len(aliases) :]


def _function_columns(node: exp.Expr, sql: str) -> Columns | None:
    """A set-returning function's columns: its alias list, else its known columns, else its alias."""
    alias = node.args.get("alias")
    aliases = [c.name for c in alias.columns] if isinstance(alias, exp.TableAlias) else []
    func = node.this if isinstance(node, exp.Table | exp.Lateral) else node
    fname = (function_name(func, sql) or "") if isinstance(func, exp.Func) else ""
    named = RECORD_FUNCTIONS.get(fname)
    if named:
        base = list(named)
    else:
        base = [alias.name if isinstance(alias, exp.TableAlias) and alias.name else fname]
    offset = node.args.get("offset")
    if node.args.get("ordinality") or offset:
        base.append(offset.name if isinstance(offset, exp.Identifier) else "ordinality")
    return _renamed(tuple(base), aliases)


def _star_of(projection: exp.Expr) -> str | None:
    """ "*" for ``*``, the source name for ``t.*``, None for any other projection."""
    if isinstance(projection, exp.Star):
        return "*"
    if isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star):
        return projection.table or "*"
    return None


def output_name(projection: exp.Expr, sql: str) -> str:
    """The column name PostgreSQL gives a projection: its alias, a column's name, a function's name."""
    if isinstance(projection, exp.Alias):
        return projection.alias
    node = projection
    while isinstance(node, exp.Cast | exp.Paren):
        node = node.this
    if isinstance(node, exp.Column):
        return node.name
    if isinstance(node, exp.Func):
        return function_name(node, sql) or "?column?"
    return "?column?"


def function_name(func: exp.Func, sql: str) -> str | None:
    """The name as written: sqlglot records where each named call starts, even when it types the node."""
    if isinstance(func, exp.Anonymous):
        return func.name.lower()
    start, end = func.meta.get("start"), func.meta.get("end")
    if start is None or end is None:
        return None  # keyword syntax (EXTRACT, CAST, CURRENT_DATE, operators)
    return sql[start : end + 1].strip('"').lower()
