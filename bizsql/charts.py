"""A Vega-Lite chart spec from a query result, when its shape suits one; never from generated code.

Specs are built with altair (which validates them against the Vega-Lite schema it ships: v6.4.1 with
altair 6.3) from the result's values alone: a category and a number give a bar chart, a date and a number
a line chart (one line per category when a short third column splits them). Anything else gets no chart,
because a wrong chart is worse than none.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

ColumnKind = Literal["temporal", "quantitative", "nominal", "empty"]
MAX_BARS = 50
MAX_POINTS = 1000
MAX_SERIES = 10
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:?\d{2}|Z)?)?$")
_TIME_WORDS = re.compile(r"(^|_)(year|month|quarter|week|day|hour|yr|mon|dow)s?($|_)", re.I)


def column_kind(values: Sequence[Any]) -> ColumnKind:
    present = [v for v in values if v is not None]
    if not present:
        return "empty"
    if all(isinstance(v, datetime | date) or (isinstance(v, str) and _ISO_DATE.match(v)) for v in present):
        return "temporal"
    if all(isinstance(v, int | float | Decimal) and not isinstance(v, bool) for v in present):
        return "quantitative"
    return "nominal"


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def chart_spec(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], *, title: str = ""
) -> dict[str, Any] | None:
    """A Vega-Lite spec for the result, or None when no honest chart fits its shape."""
    if len(rows) < 2 or len(columns) < 2 or len(rows) > MAX_POINTS:
        return None
    kinds = [column_kind([r[i] for r in rows]) for i in range(len(columns))]
    numbers = [i for i, k in enumerate(kinds) if k == "quantitative"]
    dates = [i for i, k in enumerate(kinds) if k == "temporal"]
    labels = [i for i, k in enumerate(kinds) if k == "nominal"]
    if not numbers:
        return None
    y = numbers[-1]
    if len(dates) == 1:
        series = labels[0] if len(labels) == 1 else None
        if series is not None and len({r[series] for r in rows}) > MAX_SERIES:
            return None
        return _line(columns, rows, dates[0], y, series, title)
    if not dates and len(labels) == 1 and len(rows) <= MAX_BARS:
        if len({r[labels[0]] for r in rows}) != len(rows):
            return None  # repeated labels would stack silently into a misleading bar
        return _bar(columns, rows, labels[0], y, title)
    if not dates and not labels and len(numbers) == 2 and _TIME_WORDS.search(columns[numbers[0]]):
        return _line(columns, rows, numbers[0], numbers[1], None, title, ordinal=True)
    return None


def _values(rows: Sequence[Sequence[Any]], picks: dict[str, int]) -> list[dict[str, Any]]:
    return [{key: _plain(row[i]) for key, i in picks.items()} for row in rows]


def _line(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    x: int,
    y: int,
    series: int | None,
    title: str,
    *,
    ordinal: bool = False,
) -> dict[str, Any]:
    import altair as alt

    picks = {"x": x, "y": y} | ({"series": series} if series is not None else {})
    x_type = "O" if ordinal else "T"
    encoding: dict[str, Any] = {
        "x": alt.X(f"x:{x_type}", title=columns[x]),
        "y": alt.Y("y:Q", title=columns[y]),
        "tooltip": [
            alt.Tooltip(f"x:{x_type}", title=columns[x]),
            alt.Tooltip("y:Q", title=columns[y], format=",.2~f"),
        ],
    }
    if series is not None:
        encoding["color"] = alt.Color("series:N", title=columns[series])
        encoding["tooltip"].append(alt.Tooltip("series:N", title=columns[series]))
    chart = alt.Chart(alt.Data(values=_values(rows, picks))).mark_line(point=True).encode(**encoding)
    return _finish(chart, title)


def _bar(columns: Sequence[str], rows: Sequence[Sequence[Any]], x: int, y: int, title: str) -> dict[str, Any]:
    import altair as alt

    horizontal = len(rows) > 12 or max(len(str(r[x])) for r in rows) > 14
    category = alt.X if not horizontal else alt.Y
    amount = alt.Y if not horizontal else alt.X
    sort = "-y" if not horizontal else "-x"
    chart = (
        alt.Chart(alt.Data(values=_values(rows, {"label": x, "amount": y})))
        .mark_bar()
        .encode(
            category("label:N", title=columns[x], sort=sort),
            amount("amount:Q", title=columns[y]),
            tooltip=[
                alt.Tooltip("label:N", title=columns[x]),
                alt.Tooltip("amount:Q", title=columns[y], format=",.2~f"),
            ],
        )
    )
    return _finish(chart, title)


def _finish(chart: Any, title: str) -> dict[str, Any]:
    if title:
        chart = chart.properties(title=title[:100])
    spec: dict[str, Any] = chart.properties(width="container").to_dict(validate=True)
    spec.pop("config", None)
    return spec


@lru_cache(maxsize=1)
def vega_lite_schema() -> dict[str, Any]:
    """The Vega-Lite JSON schema altair ships (v6), for validating specs independently of altair."""
    import altair

    path = Path(altair.__file__).parent / "vegalite" / "v6" / "schema" / "vega-lite-schema.json"
    schema: dict[str, Any] = json.loads(path.read_text())
    return schema


def validate_spec(spec: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError when ``spec`` is not valid Vega-Lite v6."""
    import jsonschema

    jsonschema.validate(spec, vega_lite_schema())
