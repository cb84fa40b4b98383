"""How many rows a write would change, known before it runs.

A write refused for changing too many rows must change nothing, and that includes sequences: an INSERT
that runs and is rolled back has still drawn its identity values. So the rows are counted first: from the
text for ``VALUES``, otherwise with a SELECT over the same target, sources and WHERE (an UPDATE or DELETE
that joins other tables counts the target rows that have a match, as PostgreSQL changes each target row
once). For ``INSERT ... ON CONFLICT`` the count is an upper bound.

A dry run shows a sample of the change: the write's own ``RETURNING`` rows, or (``with_returning``) every
column of each changed row of its target.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlglot.expressions as exp


@dataclass(frozen=True)
class RowCount:
    """Either a number known from the statement's text, or the query that counts."""

    known: int | None = None
    query: str | None = None


def rows_to_change(tree: exp.Expr) -> RowCount:
    if isinstance(tree, exp.Insert):
        source = tree.expression
        if source is None:
            return RowCount(known=1)  # DEFAULT VALUES
        if isinstance(source, exp.Values):
            return RowCount(known=len(source.expressions))
        query = exp.select(exp.Count(this=exp.Star())).from_(
            exp.Subquery(this=source.copy(), alias=exp.TableAlias(this=exp.to_identifier("__bizsql_rows")))
        )
    elif isinstance(tree, exp.Update | exp.Delete):
        query = _target_count(tree)
    else:
        raise TypeError(f"not a write: {tree.key}")
    if tree.args.get("with_") is not None:
        query.set("with_", tree.args["with_"].copy())
    return RowCount(query=query.sql(dialect="postgres"))


def _target_count(tree: exp.Update | exp.Delete) -> exp.Select:
    target = tree.this.copy()
    where = tree.args.get("where")
    condition = where.this.copy() if isinstance(where, exp.Where) else exp.true()
    if isinstance(tree, exp.Update):
        from_ = tree.args.get("from_")
        sources = [from_.this] if isinstance(from_, exp.From) else []
    else:
        sources = list(tree.args.get("using") or [])
    query = exp.select(exp.Count(this=exp.Star())).from_(target)
    if not sources:
        return query.where(condition)
    matched = exp.select(exp.Literal.number(1)).from_(sources[0].copy())
    for source in sources[1:]:
        matched = matched.join(source.copy(), join_type="cross")
    return query.where(exp.Exists(this=matched.where(condition)))


def with_returning(tree: exp.Expr) -> str:
    """The write as PostgreSQL text with ``RETURNING`` its target's columns, unless it returns some."""
    if tree.args.get("returning") is not None:
        return tree.sql(dialect="postgres")
    star: exp.Expr = exp.Star()
    if isinstance(tree, exp.Update | exp.Delete) and isinstance(tree.this, exp.Table):
        star = exp.Column(this=exp.Star(), table=exp.to_identifier(tree.this.alias_or_name))
    returning = tree.copy()
    returning.set("returning", exp.Returning(expressions=[star]))
    return returning.sql(dialect="postgres")
