"""RedisMongoSaver: the synchronous API of the checkpointer, over its one (async) body.

It owns an ``AsyncRedisMongoSaver`` and runs it on a private event loop in a daemon thread
(``loop_thread``): each sync method blocks on that loop, each async method awaits it from the caller's
loop. So sync callers get the same reads, writes and fault handling as async ones, with no second body to
keep in step. The thread stops on ``close()``, and when a saver nobody closed is garbage-collected.
"""

from __future__ import annotations

import copy
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from typing import Any, Self, Unpack

import redis
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)
from pymongo import MongoClient

from bizsql.checkpointers.aio import AsyncRedisMongoSaver
from bizsql.checkpointers.base import Document, Keys
from bizsql.checkpointers.clients import async_twin_of_mongo, async_twin_of_redis
from bizsql.checkpointers.faults import StoreHealth
from bizsql.checkpointers.loop_thread import LoopThread
from bizsql.checkpointers.options import SaverOptions, UrlOptions, settings_options
from bizsql.checkpointers.sync_calls import AsyncCall, SyncCalls, T, collect
from bizsql.config import Settings


class RedisMongoSaver(SyncCalls, BaseCheckpointSaver[str]):
    """Synchronous saver: an ``AsyncRedisMongoSaver`` on a loop of its own. Its async methods work too.

    Handed blocking ``redis.Redis`` and ``pymongo.MongoClient`` clients, it talks through asyncio twins of
    them (same servers and options, see ``clients``); with ``owns_clients``, ``close()`` closes the given
    clients too. The options and their defaults are ``AsyncRedisMongoSaver``'s. Internals (the queue, what
    is held for Redis) are ``async_saver``'s, to be touched on its loop only.
    """

    async_saver: AsyncRedisMongoSaver
    _origin: RedisMongoSaver | None = None
    """A clone's original, kept alive with it: the loop thread stops when the original is collected."""

    def __init__(
        self,
        redis: redis.Redis,
        mongo: MongoClient[Document],
        *,
        owns_clients: bool = False,
        **options: Unpack[SaverOptions],
    ) -> None:
        async def build() -> AsyncRedisMongoSaver:
            twins = async_twin_of_redis(redis), async_twin_of_mongo(mongo)
            return AsyncRedisMongoSaver(*twins, owns_clients=True, **options)

        self._start(build, given=(redis, mongo) if owns_clients else ())

    @classmethod
    def from_urls(cls, redis_url: str, mongo_url: str, **options: Unpack[UrlOptions]) -> Self:
        """A saver with its own fail-fast clients, closed by ``close()``. No connection opens until used."""

        async def build() -> AsyncRedisMongoSaver:
            return AsyncRedisMongoSaver.from_urls(redis_url, mongo_url, **options)

        saver = cls.__new__(cls)  # no blocking clients to take, so not through __init__
        saver._start(build, given=())
        return saver

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        assert settings.redis_url and settings.mongo_url, "resolve the server URLs first (embedded_servers)"
        return cls.from_urls(settings.redis_url, settings.mongo_url, **settings_options(settings))

    def _start(
        self,
        build: Callable[[], Awaitable[AsyncRedisMongoSaver]],
        given: Sequence[redis.Redis | MongoClient[Document]],
    ) -> None:
        """Start the loop thread and build the async saver on it (its clients then belong to that loop)."""
        self._loop_thread = LoopThread(f"{type(self).__name__}-loop")
        try:
            self.async_saver = self._loop_thread.run(build)
        except BaseException:
            self._loop_thread.stop()
            raise
        BaseCheckpointSaver.__init__(self, serde=self.async_saver.serde)
        self._given = given
        self._finalizer = weakref.finalize(self, self._loop_thread.stop, self.async_saver.aclose)

    def setup(self) -> None:
        """Create the MongoDB indexes (idempotent); reads and writes work without them, only slower."""
        self._loop_thread.run(self.async_saver.asetup)

    def close(self) -> None:
        """Close the clients and stop the loop thread (idempotent); the saver is unusable afterwards."""
        if self._finalizer.detach() is None:
            return
        try:
            self._loop_thread.run(self.async_saver.aclose)
        finally:
            self._loop_thread.stop()
            for client in self._given:
                client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def keys(self) -> Keys:
        return self.async_saver.keys

    @property
    def ttl(self) -> int:
        return self.async_saver.ttl

    @property
    def redis_health(self) -> StoreHealth:
        return self.async_saver.redis_health

    @property
    def mongo_health(self) -> StoreHealth:
        return self.async_saver.mongo_health

    def get_next_version(self, current: str | None, channel: None) -> str:
        return self.async_saver.get_next_version(current, channel)

    def with_allowlist(self, extra_allowlist: Collection[tuple[str, ...]]) -> BaseCheckpointSaver[str]:
        """A clone whose async saver has the derived serde (both share the loop, clients and state)."""
        inner = self.async_saver.with_allowlist(extra_allowlist)
        if inner is self.async_saver:
            return self
        assert isinstance(inner, AsyncRedisMongoSaver)
        clone = copy.copy(self)
        clone.async_saver, clone.serde = inner, inner.serde
        clone._origin = self
        return clone

    def _call(self, run: AsyncCall[T]) -> T:
        return self._loop_thread.run(lambda: run(self.async_saver))

    async def _acall(self, run: AsyncCall[T]) -> T:
        return await self._loop_thread.arun(lambda: run(self.async_saver))

    # --- the async API: awaited from the caller's loop, run on the saver's ----------------------------

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await self._acall(lambda saver: saver.aget_tuple(config))

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        found = await self._acall(
            lambda saver: collect(saver.alist(config, filter=filter, before=before, limit=limit))
        )
        for item in found:
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return await self._acall(lambda saver: saver.aput(config, checkpoint, metadata, new_versions))

    async def aput_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        await self._acall(lambda saver: saver.aput_writes(config, writes, task_id, task_path))

    async def adelete_thread(self, thread_id: str) -> None:
        await self._acall(lambda saver: saver.adelete_thread(thread_id))

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        await self._acall(lambda saver: saver.adelete_for_runs(run_ids))

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        await self._acall(lambda saver: saver.acopy_thread(source_thread_id, target_thread_id))

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        await self._acall(lambda saver: saver.aprune(thread_ids, strategy=strategy))

    async def aflush_pending(self, limit: int | None = None) -> int:
        return await self._acall(lambda saver: saver.aflush_pending(limit))


__all__ = ["AsyncRedisMongoSaver", "RedisMongoSaver"]
"""``AsyncRedisMongoSaver`` is re-exported, as before, for one import path."""
