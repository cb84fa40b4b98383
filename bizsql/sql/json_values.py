"""Database values as JSON: what psycopg returns (Decimal, dates, UUIDs, bytes, ranges) made serialisable."""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from psycopg.types.range import Range

JSON_SAFE = (str, int, bool, type(None))


MAX_EXACT_DIGITS = 4_000
"""Whole numbers up to this many digits stay exact ints; longer ones are given as their digits (a string):
json.dumps refuses ints past 4,300 digits (Python's int-to-text limit). The value cut keeps what reaches
here short, so converting a 100,000-digit numeric to an int never happens."""


def decimal_value(value: Decimal) -> int | float | str:
    """Whole numbers stay exact ints and others become floats, while they fit; the rest (and NaN and
    infinities) become their text."""
    if not value.is_finite() or abs(value.adjusted()) > 300:
        return str(value)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= 0:
        return int(value) if value.adjusted() < MAX_EXACT_DIGITS else str(value)
    return float(value)


def float_value(value: float) -> float | str:
    return value if math.isfinite(value) else str(value)


def interval_value(value: timedelta) -> str:
    """ISO 8601 duration, e.g. P3DT4H30M, which any client can parse."""
    sign = "-" if value < timedelta(0) else ""
    value = abs(value)
    hours, rest = divmod(value.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    second_text = f"{seconds + value.microseconds / 1e6:g}" if value.microseconds else str(seconds)
    clock = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M")) if n) + (
        f"{second_text}S" if seconds or value.microseconds else ""
    )
    days = f"{value.days}D" if value.days else ""
    if not days and not clock:
        return "PT0S"
    return f"{sign}P{days}{'T' + clock if clock else ''}"


def bytes_value(value: bytes | bytearray | memoryview) -> str:
    return "\\x" + bytes(value).hex()


def range_value(value: Range[Any]) -> str:
    if value.isempty:
        return "empty"
    lower = "" if value.lower is None else str(json_value(value.lower))
    upper = "" if value.upper is None else str(json_value(value.upper))
    return f"{value.bounds[0]}{lower},{upper}{value.bounds[1]}"


_CONVERTERS: dict[type, Callable[[Any], Any]] = {
    Decimal: decimal_value,
    float: float_value,
    datetime: datetime.isoformat,
    date: date.isoformat,
    time: time.isoformat,
    timedelta: interval_value,
    UUID: str,
    bytes: bytes_value,
    bytearray: bytes_value,
    memoryview: bytes_value,
    ipaddress.IPv4Address: str,
    ipaddress.IPv6Address: str,
    ipaddress.IPv4Network: str,
    ipaddress.IPv6Network: str,
    ipaddress.IPv4Interface: str,
    ipaddress.IPv6Interface: str,
}


def json_value(value: Any) -> Any:
    """One value, recursively for JSON documents and arrays; anything unknown becomes its text."""
    if isinstance(value, JSON_SAFE):
        return value
    converter = _CONVERTERS.get(type(value))
    if converter is not None:
        return converter(value)
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, Range):
        return range_value(value)
    return str(value)


PLAIN_TYPE_OIDS = frozenset({16, 18, 19, 20, 21, 23, 25, 26, 1042, 1043})
"""bool, char, name, int8, int2, int4, text, oid, bpchar, varchar: psycopg already gives JSON types."""


def json_rows(rows: list[tuple[Any, ...]], type_oids: list[int] | None = None) -> list[list[Any]]:
    """Rows as JSON-safe lists; columns whose type OID is plain are copied without a per-value check."""
    if type_oids is None or len(type_oids) != (len(rows[0]) if rows else 0):
        return [[json_value(v) for v in row] for row in rows]
    convert = [oid not in PLAIN_TYPE_OIDS for oid in type_oids]
    if not any(convert):
        return [list(row) for row in rows]
    return [[json_value(v) if c else v for v, c in zip(row, convert, strict=True)] for row in rows]
