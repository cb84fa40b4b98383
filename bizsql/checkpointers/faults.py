"""Store health for the checkpointer: which errors mean "store down", a brief circuit breaker, and metrics.

A dead store must cost one short timeout, not one per call: after a failure the store is skipped for
``retry_seconds``, then the next call probes it. When a store that was up fails, the other store's back-off
ends at once (half-open): it may be back already, and skipping it would fail the call. Each outage logs one
warning and one recovery line.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Literal

import redis.exceptions
import structlog
from prometheus_client import Counter, Gauge
from pymongo.errors import ConnectionFailure

log = structlog.get_logger(__name__)

Store = Literal["redis", "mongo"]

STORE_FAILURES = Counter(
    "bizsql_memory_store_failures",
    "Checkpointer calls that a store failed, by store and operation.",
    ["store", "op"],
)
DEGRADED_CALLS = Counter(
    "bizsql_memory_degraded_calls",
    "Checkpointer calls that went on without a store (it failed, or was skipped while down).",
    ["store", "op"],
)
READS = Counter(
    "bizsql_memory_reads", "Checkpoint reads (get_tuple) by where they were served from.", ["source"]
)
PENDING = Gauge("bizsql_memory_pending_writes", "Checkpointer writes held in Redis until MongoDB answers.")
FLUSHED = Counter("bizsql_memory_flushed_writes", "Pending checkpointer writes flushed to MongoDB.")
STORE_UP = Gauge(
    "bizsql_memory_store_up", "1 while the checkpointer considers the store up, else 0.", ["store"]
)

MONGO_OUTAGE: tuple[type[Exception], ...] = (ConnectionFailure,)
"""Server selection, network errors and timeouts (AutoReconnect, NetworkTimeout, NotPrimaryError...)."""

_REDIS_STATE_ERRORS = ("OOM", "MISCONF", "READONLY", "LOADING", "MASTERDOWN", "NOREPLICAS", "BUSY")


def is_redis_outage(exc: BaseException) -> bool:
    """Connection trouble, or a server that answers but cannot store (out of memory, read-only, loading)."""
    if isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError | OSError):
        return True
    return isinstance(exc, redis.exceptions.ResponseError) and str(exc).startswith(_REDIS_STATE_ERRORS)


class StoreHealth:
    """A circuit breaker for one store: closed while it answers, open ``retry_seconds`` after a failure."""

    def __init__(
        self, store: Store, retry_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.store = store
        self.retry_seconds = retry_seconds
        self._clock = clock
        self._down_since: float | None = None
        self._retry_at = 0.0
        self._other: StoreHealth | None = None
        self._lock = threading.Lock()
        STORE_UP.labels(store).set(1)

    def pair_with(self, other: StoreHealth) -> None:
        """The breakers of the two stores of one saver: each half-opens the other as it opens."""
        self._other, other._other = other, self

    @property
    def is_down(self) -> bool:
        return self._down_since is not None

    def available(self, op: str, *, again: bool = False) -> bool:
        """True if the store may be called now: it is up, or its back-off is over and this call probes it.

        ``again`` is a second look within one call, after the other store failed: a skip counts once.
        """
        if self._down_since is None or self._clock() >= self._retry_at:
            return True
        if not again:
            DEGRADED_CALLS.labels(self.store, op).inc()
        return False

    def half_open(self) -> None:
        """End the back-off now, so the next call probes the store (the other store just went down)."""
        with self._lock:
            if self._down_since is not None:
                self._retry_at = min(self._retry_at, self._clock())

    def failed(self, exc: BaseException, op: str) -> None:
        """Count the failure and open the breaker; only the first failure of an outage logs a warning and
        half-opens the other store's breaker (a failed probe does not, or two dead stores would take turns
        costing a timeout on every call)."""
        STORE_FAILURES.labels(self.store, op).inc()
        DEGRADED_CALLS.labels(self.store, op).inc()
        now = self._clock()
        with self._lock:
            first = self._down_since is None
            if first:
                self._down_since = now
            self._retry_at = now + self.retry_seconds
        STORE_UP.labels(self.store).set(0)
        if first:
            if self._other is not None:
                self._other.half_open()
            log.warning(
                "conversation store down; going on without it",
                store=self.store,
                op=op,
                error=f"{type(exc).__name__}: {exc}",
                retry_seconds=self.retry_seconds,
            )

    def succeeded(self) -> None:
        """Close the breaker after a successful call, logging how long the outage lasted."""
        if self._down_since is None:
            return
        with self._lock:
            since, self._down_since = self._down_since, None
        if since is not None:
            STORE_UP.labels(self.store).set(1)
            log.info(
                "conversation store back", store=self.store, down_seconds=round(self._clock() - since, 2)
            )
