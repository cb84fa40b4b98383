"""The shape every demo business takes, so the seeder can load any of them the same way."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TableData:
    """Rows for one table, generated lazily and loaded with COPY in the order the generator yields."""

    name: str
    columns: tuple[str, ...]
    rows: Iterable[tuple[Any, ...]]


@dataclass(frozen=True)
class VerifiedQuery:
    """A question with SQL a human checked; it runs on the demo data and returns rows."""

    question: str
    sql: str


@dataclass(frozen=True)
class DemoBusiness:
    """One demo tenant: its schema, its deterministic data and its MongoDB business config."""

    business_id: str
    name: str
    description: str
    schema_sql: str
    generate: Callable[[random.Random], Iterator[TableData]]
    tables: tuple[str, ...]
    glossary: dict[str, str]
    instructions: str
    verified_queries: tuple[VerifiedQuery, ...]
    writer_tables: tuple[str, ...] = ()
    allow_writes: bool = False
    row_cap: int = 1000
    statement_timeout_ms: int = 5000
    max_cost: float = 5_000_000.0
    max_write_rows: int = 100
    extra: dict[str, Any] = field(default_factory=dict)

    def rng(self) -> random.Random:
        """A fixed seed per business, so every machine gets the same rows."""
        return random.Random(f"bizsql-demo-{self.business_id}-v1")
