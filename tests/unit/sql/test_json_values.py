"""Database values reach JSON clients without losing meaning: exact integers, ISO dates, readable bytes."""

from __future__ import annotations

import ipaddress
import json
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from uuid import UUID

from psycopg.types.range import Range

from bizsql.sql.json_values import json_rows, json_value


def test_numbers_keep_their_meaning() -> None:
    assert json_value(Decimal("12345678901234567890")) == 12345678901234567890
    assert json_value(Decimal("19.99")) == 19.99
    assert json_value(Decimal("100.00")) == 100.0
    assert json_value(Decimal("NaN")) == "NaN"
    assert json_value(float("inf")) == "inf"


def test_time_values_are_iso_8601() -> None:
    assert json_value(date(2026, 10, 31)) == "2026-10-31"
    assert json_value(datetime(2026, 10, 31, 8, 30, tzinfo=UTC)) == "2026-10-31T08:30:00+00:00"
    assert json_value(time(8, 30)) == "08:30:00"
    assert json_value(timedelta(days=3, hours=4, minutes=30)) == "P3DT4H30M"
    assert json_value(timedelta(seconds=1.5)) == "PT1.5S"
    assert json_value(timedelta(0)) == "PT0S"
    assert json_value(-timedelta(days=2)) == "-P2D"


def test_other_types_become_readable_text() -> None:
    assert json_value(UUID(int=1)) == "00000000-0000-0000-0000-000000000001"
    assert json_value(b"\x00\xff") == "\\x00ff"
    assert json_value(memoryview(b"ab")) == "\\x6162"
    assert json_value(ipaddress.ip_address("10.0.0.1")) == "10.0.0.1"
    assert json_value(Range(1, 5)) == "[1,5)"
    assert json_value(Range(empty=True)) == "empty"


def test_nested_documents_and_arrays_are_converted_all_the_way_down() -> None:
    row = ({"paid": Decimal("1.50"), "on": [date(2026, 1, 2)]}, [Decimal("3"), None])
    converted = json_rows([row])
    assert converted == [[{"paid": 1.5, "on": ["2026-01-02"]}, [3, None]]]
    json.dumps(converted)


def test_plain_columns_are_copied_and_others_converted() -> None:
    rows = [(1, "a", Decimal("2.50"), date(2026, 1, 2)), (None, None, None, None)]
    int4, text, numeric, date_oid = 23, 25, 1700, 1082
    converted = json_rows(rows, [int4, text, numeric, date_oid])
    assert converted == [[1, "a", 2.5, "2026-01-02"], [None, None, None, None]]
    assert json_rows(rows[:1], [int4, text]) == [[1, "a", 2.5, "2026-01-02"]]  # mismatched: check every value
