"""langgraph's checkpointer conformance suite against both savers, on real Valkey and SecantusDB servers.

The suite calls the async API only. For RedisMongoSaver's sync API, ``SyncApi`` answers each of its calls
with the sync method; ``sync-async`` runs the suite on RedisMongoSaver's own async methods. Two more runs
take one store away to show the saver stays correct.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)
from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.conformance.capabilities import ALL_CAPABILITIES
from langgraph.checkpoint.conformance.initializer import RegisteredCheckpointer
from langgraph.checkpoint.conformance.report import CapabilityReport

from bizsql.checkpointers import AsyncRedisMongoSaver, RedisMongoSaver
from bizsql.embedded import free_port
from tests.integration.memory.conftest import Servers, close, make_saver, unique

pytestmark = pytest.mark.integration


class SyncApi(BaseCheckpointSaver[str]):
    """RedisMongoSaver as the suite sees it, but every call goes through its sync method."""

    def __init__(self, saver: RedisMongoSaver) -> None:
        super().__init__(serde=saver.serde)
        self.saver = saver

    def get_next_version(self, current: str | None, channel: None) -> str:
        return self.saver.get_next_version(current, channel)

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self.saver.get_tuple(config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        for item in self.saver.list(config, filter=filter, before=before, limit=limit):
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return self.saver.put(config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        self.saver.put_writes(config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        self.saver.delete_thread(thread_id)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        self.saver.delete_for_runs(run_ids)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        self.saver.copy_thread(source_thread_id, target_thread_id)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        self.saver.prune(thread_ids, strategy=strategy)


def registered(kind: str, servers: Servers, **options: object) -> RegisteredCheckpointer:
    """``kind``: "sync" (RedisMongoSaver's sync methods), "sync-async" (its async ones), or "async"."""

    @checkpointer_test(name=unique(f"RedisMongo-{kind}"))
    async def factory() -> AsyncIterator[BaseCheckpointSaver[str]]:
        api = "async" if kind == "async" else "sync"
        saver = make_saver(api, servers, key_prefix=unique("conformance"), **options)
        if isinstance(saver, RedisMongoSaver) and "mongo_url" not in options:
            saver.setup()
        elif isinstance(saver, AsyncRedisMongoSaver) and "mongo_url" not in options:
            await saver.asetup()
        yield SyncApi(saver) if kind == "sync" and isinstance(saver, RedisMongoSaver) else saver
        await close(saver)

    return factory


def failures(report: CapabilityReport) -> dict[str, list[str]]:
    return {name: result.failures for name, result in report.results.items() if result.failures}


@pytest.mark.parametrize("kind", ["sync", "sync-async", "async"])
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
