"""Execution accuracy (EX): does the predicted query return what the gold query returns?

The rule, in full (it is what a person reading both tables would accept as "the same answer"):

1. Rows are compared as a multiset (duplicates count, order ignored) unless the gold SQL has a top-level
   ``ORDER BY``: then row *i* of the prediction must match row *i* of the gold result.
2. Columns are matched by their values, never by name or position: every gold column must be matched to a
   different predicted column holding the same values row for row. Extra predicted columns are allowed (a
   query that adds the customer's name next to the asked-for id still answers the question); a missing
   or different gold column is wrong. Both results must have the same number of rows.
3. Numbers compare with ``math.isclose(rel_tol=1e-6, abs_tol=1e-6)``, whatever their type (``Decimal``,
   ``float``, ``int``, or the JSON forms of these). Rounding is *not* forgiven: 12.35 is not 12.3456.
4. ``NULL`` equals only ``NULL``. Booleans equal only booleans (``true`` is not ``1``).
5. A timestamp at exactly midnight (any offset of zero) equals the date of that day, so
   ``date_trunc('month', d)`` and ``date_trunc('month', d)::date`` give the same answer. Other strings
   compare exactly; JSON values compare by their canonical JSON text.

Known limit: rows are aligned by sorting, so two rows whose first numeric difference is below the tolerance
but whose later columns differ may be compared out of pairing; with a tolerance of one in a million this
needs near-identical figures in different rows, which the golden sets avoid.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

import sqlglot
from sqlglot import exp

REL_TOL = 1e-6
ABS_TOL = 1e-6
_MIDNIGHT = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ]00:00(?::00(?:\.0+)?)?(?:[+-]00(?::?00)?|Z)?$")

Row = Sequence[Any]


@lru_cache(maxsize=4096)
def has_top_level_order(sql: str) -> bool:
    """True when the outermost query sorts its rows (ORDER BY on the final SELECT or set operation)."""
    try:
        tree = sqlglot.parse_one(sql, read="postgres")
    except sqlglot.errors.ParseError:
        return False
    while isinstance(tree, exp.Subquery | exp.Paren):
        tree = tree.this
    return tree.args.get("order") is not None


def canonical(value: Any) -> Any:
    """The comparable form of one cell: numbers as float, midnight timestamps as dates, JSON as text."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return float(value)
    if isinstance(value, datetime):
        value = value.isoformat()
    elif isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        midnight = _MIDNIGHT.match(value)
        return midnight.group(1) if midnight else value
    return json.dumps(value, sort_keys=True, default=str)


def values_equal(a: Any, b: Any) -> bool:
    """Two canonical cells: numbers within tolerance, everything else exactly (NULL only equals NULL)."""
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    return type(a) is type(b) and a == b


def _sort_key(value: Any) -> tuple[int, Any]:
    """A total order over canonical cells of mixed types (NULLs first, then booleans, numbers, text)."""
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, value)
    if isinstance(value, float):
        return (2, 0.0 if math.isnan(value) else value)
    return (3, str(value))


def _columns(rows: Sequence[Row], width: int) -> list[list[Any]]:
    return [[canonical(row[c]) for row in rows] for c in range(width)]


def _vectors_equal(a: Sequence[Any], b: Sequence[Any], *, ordered: bool) -> bool:
    if not ordered:
        a, b = sorted(a, key=_sort_key), sorted(b, key=_sort_key)
    return all(values_equal(x, y) for x, y in zip(a, b, strict=True))


def _rows_equal(gold: list[tuple[Any, ...]], pred: list[tuple[Any, ...]], *, ordered: bool) -> bool:
    if not ordered:

        def key(row: tuple[Any, ...]) -> list[tuple[int, Any]]:
            return [_sort_key(v) for v in row]

        gold, pred = sorted(gold, key=key), sorted(pred, key=key)
    return all(
        all(values_equal(x, y) for x, y in zip(g, p, strict=True)) for g, p in zip(gold, pred, strict=True)
    )


def _assignments(candidates: list[list[int]], used: frozenset[int] = frozenset()) -> Iterator[list[int]]:
    """Every way to give each gold column a different predicted column among its candidates."""
    if not candidates:
        yield []
        return
    for choice in candidates[0]:
        if choice not in used:
            for rest in _assignments(candidates[1:], used | {choice}):
                yield [choice, *rest]


def results_match(gold: Sequence[Row], predicted: Sequence[Row] | None, *, ordered: bool) -> bool:
    """EX for one question: the rule in this module's docstring. ``predicted`` None means no result."""
    if predicted is None or len(gold) != len(predicted):
        return False
    if not gold:
        return True
    gold_width, pred_width = len(gold[0]), len(predicted[0])
    if pred_width < gold_width:
        return False
    gold_cols, pred_cols = _columns(gold, gold_width), _columns(predicted, pred_width)
    candidates = [
        [k for k, p in enumerate(pred_cols) if _vectors_equal(g, p, ordered=ordered)] for g in gold_cols
    ]
    if any(not c for c in candidates):
        return False
    gold_rows = list(zip(*gold_cols, strict=True))
    for chosen in _assignments(candidates):
        projected = list(zip(*(pred_cols[k] for k in chosen), strict=True))
        if _rows_equal(gold_rows, projected, ordered=ordered):
            return True
    return False


def execution_match(gold_sql: str, gold: Sequence[Row], predicted: Sequence[Row] | None) -> bool:
    """EX with the order rule taken from the gold SQL (compared in order only under a top-level ORDER BY)."""
    return results_match(gold, predicted, ordered=has_top_level_order(gold_sql))
