"""The EX scorer on result sets whose verdict a person can check by eye."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bizsql.evals.scoring import execution_match, has_top_level_order, results_match

UNORDERED = "SELECT state, count(*) FROM customers GROUP BY state"
ORDERED = "SELECT state, count(*) AS n FROM customers GROUP BY state ORDER BY n DESC, state"


def test_same_rows_in_another_order_match_when_the_gold_has_no_order_by() -> None:
    gold = [["TX", 10], ["CA", 7], ["NY", 3]]
    assert execution_match(UNORDERED, gold, [["NY", 3], ["TX", 10], ["CA", 7]])


def test_same_rows_in_another_order_do_not_match_when_the_gold_is_ordered() -> None:
    gold = [["TX", 10], ["CA", 7], ["NY", 3]]
    assert execution_match(ORDERED, gold, [["TX", 10], ["CA", 7], ["NY", 3]])
    assert not execution_match(ORDERED, gold, [["NY", 3], ["TX", 10], ["CA", 7]])


def test_columns_are_matched_by_their_values_not_by_position() -> None:
    gold = [["TX", 10], ["CA", 7]]
    assert results_match(gold, [[7, "CA"], [10, "TX"]], ordered=False)
    assert results_match(gold, [[10, "TX"], [7, "CA"]], ordered=True)


def test_an_extra_predicted_column_is_allowed_but_a_missing_gold_column_is_not() -> None:
    gold = [[1, 120.5], [2, 99.0]]
    assert results_match(gold, [[1, "Ada", 120.5], [2, "Bob", 99.0]], ordered=False)
    assert not results_match(gold, [[1], [2]], ordered=False)
    assert not results_match(gold, [[1, 120.5, 3], [2, 98.0, 4]], ordered=False)


def test_columns_with_equal_values_must_also_pair_up_row_by_row() -> None:
    gold = [[1, 2], [2, 1]]
    assert not results_match(gold, [[1, 1], [2, 2]], ordered=False)
    assert results_match(gold, [[2, 1], [1, 2]], ordered=False)


def test_numbers_match_within_a_relative_and_absolute_tolerance_whatever_their_type() -> None:
    assert results_match([[Decimal("12.50")]], [[12.5]], ordered=False)
    assert results_match([[0.1 + 0.2]], [[0.3]], ordered=False)
    assert results_match([[Decimal("1000000000.00")]], [[1_000_000_000.5]], ordered=False)
    assert results_match([[3]], [[3.0000000001]], ordered=False)
    assert results_match([[Decimal("0.0000001")]], [[0]], ordered=False)


def test_a_rounded_or_different_number_does_not_match() -> None:
    assert not results_match([[12.3456]], [[12.35]], ordered=False)
    assert not results_match([[1_000_000_000]], [[1_000_002_000]], ordered=False)
    assert not results_match([[0.001]], [[0.002]], ordered=False)


def test_null_matches_only_null() -> None:
    assert results_match([[None, 1]], [[None, 1]], ordered=False)
    assert not results_match([[None]], [[0]], ordered=False)
    assert not results_match([[None]], [[""]], ordered=False)
    assert not results_match([[0]], [[None]], ordered=False)


def test_duplicates_count() -> None:
    gold = [["a"], ["a"], ["b"]]
    assert results_match(gold, [["a"], ["b"], ["a"]], ordered=False)
    assert not results_match(gold, [["a"], ["b"], ["b"]], ordered=False)
    assert not results_match(gold, [["a"], ["b"]], ordered=False)
    assert not results_match([["a"], ["b"]], [["a"], ["a"], ["b"]], ordered=False)


def test_booleans_are_not_numbers() -> None:
    assert results_match([[True]], [[True]], ordered=False)
    assert not results_match([[True]], [[1]], ordered=False)
    assert not results_match([[False]], [[0]], ordered=False)


def test_a_midnight_timestamp_is_the_same_day_as_a_date_but_other_times_are_not() -> None:
    assert results_match([["2025-01-01"]], [["2025-01-01T00:00:00+00:00"]], ordered=True)
    assert results_match([["2025-01-01"]], [["2025-01-01T00:00:00"]], ordered=True)
    assert not results_match([["2025-01-01"]], [["2025-01-01T05:00:00+00:00"]], ordered=True)
    assert not results_match([["2025-01-01"]], [["2025-01-02"]], ordered=True)


def test_no_result_or_an_empty_result_never_matches_a_gold_with_rows() -> None:
    assert not results_match([[1]], None, ordered=False)
    assert not results_match([[1]], [], ordered=False)


@pytest.mark.parametrize(
    ("sql", "ordered"),
    [
        (ORDERED, True),
        (UNORDERED, False),
        ("WITH m AS (SELECT 1 AS x) SELECT x FROM m ORDER BY x", True),
        ("WITH m AS (SELECT 1 AS x ORDER BY x) SELECT x FROM m", False),
        ("SELECT x, rank() OVER (ORDER BY x) FROM t", False),
        ("SELECT x FROM (SELECT x FROM t ORDER BY x) s", False),
        ("SELECT x FROM a UNION ALL SELECT x FROM b ORDER BY x", True),
        ("not sql at all (", False),
    ],
)
def test_only_a_top_level_order_by_makes_row_order_count(sql: str, ordered: bool) -> None:
    assert has_top_level_order(sql) is ordered
