"""langgraph's checkpointer conformance suite against both savers, on real Valkey and SecantusDB servers.

The suite calls the async API only. RedisMongoSaver's async methods run its sync methods in a thread, so
the runs on it exercise the sync code. Two more runs take one store away to show the saver stays correct.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.conformance.capabilities import ALL_CAPABILITIES
from langgraph.checkpoint.conformance.initializer import RegisteredCheckpointer
from langgraph.checkpoint.conformance.report import CapabilityReport

from bizsql.checkpointers import AsyncRedisMongoSaver, RedisMongoSaver
from bizsql.embedded import free_port
from tests.integration.memory.conftest import Servers, close, make_saver, unique

pytestmark = pytest.mark.integration


def registered(kind: str, servers: Servers, **options: object) -> RegisteredCheckpointer:
    @checkpointer_test(name=unique(f"RedisMongo-{kind}"))
    async def factory() -> AsyncIterator[BaseCheckpointSaver[str]]:
        saver = make_saver(kind, servers, key_prefix=unique("conformance"), **options)
        if isinstance(saver, RedisMongoSaver) and "mongo_url" not in options:
            saver.setup()
        elif isinstance(saver, AsyncRedisMongoSaver) and "mongo_url" not in options:
            await saver.asetup()
        yield saver
        await close(saver)

    return factory


def failures(report: CapabilityReport) -> dict[str, list[str]]:
    return {name: result.failures for name, result in report.results.items() if result.failures}


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_both_savers_pass_every_conformance_capability(kind: str, servers: Servers) -> None:
    report = await validate(registered(kind, servers))
    assert failures(report) == {}
    assert {name for name, r in report.results.items() if r.passed} == {c.value for c in ALL_CAPABILITIES}


async def test_with_redis_down_every_capability_still_passes_on_mongo_alone(servers: Servers) -> None:
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    report = await validate(registered("async", servers, redis_url=dead_redis))
    assert failures(report) == {}
    assert all(r.passed for r in report.results.values())


async def test_with_mongo_down_redis_alone_keeps_puts_writes_and_lists(servers: Servers) -> None:
    """get_tuple and delete_thread are left out on purpose: for a thread Redis does not hold, the saver
    answers MemoryUnavailable rather than "no such thread" (MongoDB may hold it), and the suite checks
    "not found" answers. copy_thread, delete_for_runs and prune need MongoDB by design."""
    dead_mongo = f"mongodb://127.0.0.1:{free_port()}/?directConnection=true"
    report = await validate(
        registered("async", servers, mongo_url=dead_mongo, retry_seconds=60),
        capabilities={"put", "put_writes", "list"},
    )
    assert failures(report) == {}
    assert {name for name, r in report.results.items() if r.passed} == {"put", "put_writes", "list"}
