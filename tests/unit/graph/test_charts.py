"""Chart specs come from the data's shape and are valid Vega-Lite v6 (the schema altair ships)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import jsonschema
import pytest

from bizsql.charts import chart_spec, validate_spec


def test_category_and_number_give_a_valid_bar_chart() -> None:
    spec = chart_spec(["state", "customers"], [["TX", 30], ["CA", 20], ["NY", 5]], title="Customers by state")
    assert spec is not None
    validate_spec(spec)
    assert spec["mark"]["type"] == "bar"
    assert spec["$schema"].endswith("/v6.4.1.json")
    assert spec["data"]["values"][0] == {"label": "TX", "amount": 30}
    assert spec["title"] == "Customers by state"


def test_date_and_number_give_a_line_chart_with_plain_values() -> None:
    rows = [[date(2024, 1, 1), Decimal("10.50")], [date(2024, 2, 1), Decimal("12.25")]]
    spec = chart_spec(["month", "revenue"], rows)
    assert spec is not None
    validate_spec(spec)
    assert spec["mark"]["type"] == "line"
    assert spec["encoding"]["x"]["type"] == "temporal"
    assert spec["data"]["values"][1] == {"x": "2024-02-01", "y": 12.25}


def test_iso_date_strings_from_the_executor_count_as_dates() -> None:
    rows = [["2024-01-01", "TX", 3], ["2024-01-01", "CA", 4], ["2024-02-01", "TX", 5]]
    spec = chart_spec(["month", "state", "orders"], rows)
    assert spec is not None
    validate_spec(spec)
    assert spec["encoding"]["color"]["title"] == "state"


def test_column_names_with_dots_and_brackets_cannot_break_the_spec() -> None:
    spec = chart_spec(["c.name [x]", "sum(o.total)"], [["a", 1], ["b", 2]])
    assert spec is not None
    validate_spec(spec)
    assert spec["encoding"]["y"]["title"] == "sum(o.total)"


def test_many_or_long_labels_switch_to_horizontal_bars() -> None:
    rows = [[f"product number {i}", i] for i in range(20)]
    spec = chart_spec(["product", "sold"], rows)
    assert spec is not None
    assert spec["encoding"]["y"]["field"] == "label"


@pytest.mark.parametrize(
    ("columns", "rows"),
    [
        (["total"], [[1], [2]]),
        (["name", "total"], [["a", 1]]),
        (["name", "city"], [["a", "x"], ["b", "y"]]),
        (["name", "total"], [["a", 1], ["a", 2]]),
        (["name", "total"], [[str(i), i] for i in range(51)]),
        (["id", "total"], [[1, 5], [2, 6]]),
        (["day", "state", "n"], [[f"2024-01-{d:02}", s, d] for d in range(1, 3) for s in "ABCDEFGHIJK"]),
    ],
    ids=["one-column", "one-row", "no-number", "repeated-labels", "too-many-bars", "two-plain-numbers",
         "too-many-series"],
)  # fmt: skip
def test_shapes_that_do_not_suit_a_chart_get_none(columns: list[str], rows: list[list[object]]) -> None:
    assert chart_spec(columns, rows) is None


def test_the_schema_check_rejects_a_broken_spec() -> None:
    spec = chart_spec(["state", "customers"], [["TX", 30], ["CA", 20]])
    assert spec is not None
    spec["mark"] = {"type": "pie-ish"}
    with pytest.raises(jsonschema.ValidationError):
        validate_spec(spec)
