"""What bounds a result besides the server: the whole read's deadline, and numbers that stay readable."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest

from bizsql.errors import QueryTimeout
from bizsql.sql.capped import CappedRows, Deadline, OutputColumn, fetch_capped
from bizsql.sql.json_values import decimal_value


class SlowCursor:
    """A cursor whose every FETCH returns one row and takes ``seconds``; it records what it was sent."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.sent = seconds, []

    async def execute(self, sql: str) -> None:
        self.sent.append(sql)
        time.sleep(self.seconds)

    def nextset(self) -> bool:
        return True

    async def fetchall(self) -> list[tuple[Any, ...]]:
        return [(1, "x", None)]


async def test_many_batches_cannot_outlast_one_statement_timeout() -> None:
    """Each FETCH gets the time the whole read has left, and none is sent once it is spent."""
    columns = [OutputColumn("id", 23), OutputColumn("note", 25)]
    rows = CappedRows(columns, row_cap=1000, max_bytes=20_000_000, max_value_chars=16_384)
    rows.batch_size = lambda: 1  # type: ignore[method-assign]  # one row a batch, as 300 wide columns give
    cursor = SlowCursor(0.05)
    with pytest.raises(QueryTimeout, match="longer than 200 ms"):
        await fetch_capped(cursor, "c", rows, Deadline(200))  # type: ignore[arg-type]
    timeouts = [int(sql.split("= ")[1].split(";")[0]) for sql in cursor.sent]
    assert 2 <= len(cursor.sent) <= 5
    assert timeouts == sorted(timeouts, reverse=True) and timeouts[0] <= 200


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("12345"), 12345),
        (Decimal("2.5"), 2.5),
        (Decimal("12345678901234567890"), 12345678901234567890),
        (Decimal("9" * 4001), "9" * 4001),
        (Decimal("1e131071"), "1E+131071"),
        (Decimal("NaN"), "NaN"),
    ],
)
def test_decimals_stay_numbers_while_json_can_carry_them(value: Decimal, shown: object) -> None:
    assert decimal_value(value) == shown
