"""The circuit breaker: one short timeout per outage, one warning, and metrics for every degraded call."""

from __future__ import annotations

import redis.exceptions
from prometheus_client import REGISTRY
from pymongo.errors import AutoReconnect, NetworkTimeout, OperationFailure, ServerSelectionTimeoutError
from structlog.testing import capture_logs

from bizsql.checkpointers.faults import MONGO_OUTAGE, StoreHealth, is_redis_outage
from bizsql.stores.mongo import closed_by_server


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


STORE = "redis-under-test"
"""Its own store label: savers left running by other tests log and count under "redis" too."""


def degraded(op: str) -> float:
    return REGISTRY.get_sample_value("bizsql_memory_degraded_calls_total", {"store": STORE, "op": op}) or 0.0


def test_a_failed_store_is_skipped_until_its_back_off_ends_then_probed() -> None:
    clock = Clock()
    health = StoreHealth(STORE, retry_seconds=2.0, clock=clock)
    assert health.available("t-probe")
    before = degraded("t-probe")
    with capture_logs() as logs:
        health.failed(ConnectionError("refused"), "t-probe")
        assert not health.available("t-probe")
        health.failed(ConnectionError("refused again"), "t-probe")
        clock.now += 1.0
        assert not health.available("t-probe")
        clock.now += 2.5
        assert health.available("t-probe")  # the probe
        health.succeeded()
        health.succeeded()
    logs = [e for e in logs if e.get("store") == STORE]
    assert [e["log_level"] for e in logs] == ["warning", "info"]
    assert logs[1]["event"] == "conversation store back"
    assert degraded("t-probe") == before + 4  # two failures, two skipped calls
    assert REGISTRY.get_sample_value("bizsql_memory_store_up", {"store": STORE}) == 1.0
    assert not health.is_down


def test_a_store_going_down_half_opens_the_other_but_a_failed_probe_does_not() -> None:
    """Giving up on a store that may be back fails the call; two dead stores must not take turns costing
    a timeout on every call."""
    clock = Clock()
    redis_health = StoreHealth("redis", retry_seconds=60.0, clock=clock)
    mongo_health = StoreHealth("mongo", retry_seconds=60.0, clock=clock)
    redis_health.pair_with(mongo_health)
    redis_health.failed(ConnectionError("refused"), "t-half-open")
    assert not redis_health.available("t-half-open")
    mongo_health.failed(ConnectionError("refused"), "t-half-open")
    assert redis_health.available("t-half-open")  # probed at once, not in 60 s
    redis_health.failed(ConnectionError("still refused"), "t-half-open")
    assert not mongo_health.available("t-half-open")
    before = degraded("t-half-open")
    assert not redis_health.available("t-half-open", again=True)
    assert degraded("t-half-open") == before  # a second look within one call counts no second skip
    redis_health.succeeded()
    mongo_health.succeeded()


def test_only_outages_count_as_a_store_being_down() -> None:
    assert is_redis_outage(redis.exceptions.ConnectionError("refused"))
    assert is_redis_outage(redis.exceptions.TimeoutError())
    assert is_redis_outage(
        redis.exceptions.ResponseError("OOM command not allowed when used memory > 'maxmemory'")
    )
    assert is_redis_outage(
        redis.exceptions.ResponseError("READONLY You can't write against a read only replica")
    )
    assert not is_redis_outage(redis.exceptions.ResponseError("ERR Error running script: bad argument"))
    assert not is_redis_outage(ValueError("a bug"))
    assert isinstance(ServerSelectionTimeoutError("no server"), MONGO_OUTAGE)
    assert not isinstance(OperationFailure("bad query"), MONGO_OUTAGE)


def test_only_a_connection_the_server_closed_is_tried_again() -> None:
    """A closed pooled connection is worth one more try; a server that does not answer is an outage."""
    assert closed_by_server(AutoReconnect("connection is already closed"))
    assert not closed_by_server(NetworkTimeout("timed out"))
    assert not closed_by_server(ServerSelectionTimeoutError("no server"))
    assert not closed_by_server(OperationFailure("not authorized"))
