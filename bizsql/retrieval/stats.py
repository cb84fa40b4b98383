"""What schema search has cost per business, for /debug/search-stats: searches, latency, rebuilds."""

from __future__ import annotations

import statistics
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LATENCY_WINDOW = 2000
"""Latencies kept per business (the newest), so percentiles follow the recent load."""


@dataclass
class SearchStats:
    searches: int = 0
    rebuilds: int = 0
    last_rebuild_reason: str = ""
    search_ms: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_WINDOW))
    embed_ms: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_WINDOW))

    def report(self) -> dict[str, Any]:
        return {
            "searches": self.searches,
            "search_ms": percentiles(list(self.search_ms)),
            "embed_ms": percentiles(list(self.embed_ms)),
            "rebuilds": self.rebuilds,
            "last_rebuild_reason": self.last_rebuild_reason,
        }


def percentiles(values: Sequence[float]) -> dict[str, float | None]:
    """p50, p95 and p99 in ms, rounded to microseconds (None when nothing was measured)."""
    if not values:
        return {"p50": None, "p95": None, "p99": None}
    if len(values) == 1:
        v = round(values[0], 3)
        return {"p50": v, "p95": v, "p99": v}
    q = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": round(q[49], 3), "p95": round(q[94], 3), "p99": round(q[98], 3)}


def folder_size(path: Path) -> int:
    """Bytes of the files in an index folder (0 when it is gone)."""
    try:
        return sum(p.stat().st_size for p in path.iterdir() if p.is_file())
    except OSError:
        return 0
