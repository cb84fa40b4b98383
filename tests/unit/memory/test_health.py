"""The circuit breaker: one short timeout per outage, one warning, and metrics for every degraded call."""

from __future__ import annotations

import redis.exceptions
from prometheus_client import REGISTRY
from pymongo.errors import OperationFailure, ServerSelectionTimeoutError
from structlog.testing import capture_logs

from bizsql.checkpointers.faults import MONGO_OUTAGE, StoreHealth, is_redis_outage


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def degraded(op: str) -> float:
    return (
        REGISTRY.get_sample_value("bizsql_memory_degraded_calls_total", {"store": "redis", "op": op}) or 0.0
    )


def test_a_failed_store_is_skipped_until_its_back_off_ends_then_probed() -> None:
    clock = Clock()
    health = StoreHealth("redis", retry_seconds=2.0, clock=clock)
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
    assert [e["log_level"] for e in logs] == ["warning", "info"]
    assert logs[0]["store"] == "redis" and logs[1]["event"] == "conversation store back"
    assert degraded("t-probe") == before + 4  # two failures, two skipped calls
    assert REGISTRY.get_sample_value("bizsql_memory_store_up", {"store": "redis"}) == 1.0
    assert not health.is_down


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
