"""The saver's read path: ``aget_tuple`` and ``alist``.

A checkpoint is read from Redis first (one Lua call that also renews the thread's TTL), then from MongoDB,
which warms Redis again. ``alist`` reads MongoDB, which holds the whole history; only while MongoDB is down
does it list what Redis holds.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import structlog
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import CheckpointTuple
from redis.commands.core import AsyncScript
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt

from bizsql.checkpointers import plans
from bizsql.checkpointers.base import CHECKPOINTS, Document, Target, load_tuple
from bizsql.checkpointers.faults import MONGO_OUTAGE, READS
from bizsql.checkpointers.recovery import AsyncRecovery
from bizsql.errors import MemoryUnavailable
from bizsql.stores.mongo import closed_by_server

log = structlog.get_logger(__name__)


class SaverReads(AsyncRecovery):
    """Reads of ``AsyncRedisMongoSaver``; ``_get`` (the GET_CHECKPOINT script) is set by its constructor."""

    _get: AsyncScript

    async def _aggregate(self, pipeline: list[Document]) -> list[Document]:
        """The pipeline's documents, tried once more when the connection had been closed by the server
        (pymongo's own retry may land on another closed one): a turn must not fail on a stale pool."""
        async for attempt in AsyncRetrying(
            retry=retry_if_exception(closed_by_server), stop=stop_after_attempt(2), reraise=True
        ):
            with attempt:
                cursor = await self.db[CHECKPOINTS].aggregate(pipeline)
                return await cursor.to_list()
        raise AssertionError("unreachable: tenacity reraises the last error")

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        self._loop = asyncio.get_running_loop()
        target = Target.of(config)
        redis_tried = await self._redis_ready("get_tuple")
        if redis_tried and (found := await self._read_redis(target)) is not None:
            return found
        try:
            doc = await self._read_mongo(target)
        except MemoryUnavailable as exc:
            if redis_tried or not await self._redis_ready("get_tuple", again=True):
                raise
            if (found := await self._read_redis(target)) is None:  # MongoDB's failure half-opened Redis
                raise self._unavailable("get_tuple") from exc
            return found
        READS.labels("mongo" if doc else "none").inc()
        if doc is None:
            return None
        await self._warm(doc, latest=target.checkpoint_id is None)
        return load_tuple(self.serde, doc, doc["_blobs"], doc["_writes"])

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """From MongoDB (the complete history); only while MongoDB is down, from what Redis holds."""
        self._loop = asyncio.get_running_loop()
        if limit is not None and limit <= 0:
            return
        mongo_tried = await self._mongo_ready("list", write=False)
        found = await self._list_mongo(config, filter, before, limit) if mongo_tried else None
        if found is None:
            try:
                found = await self._list_redis(config, filter, before, limit)
            except MemoryUnavailable as exc:
                if mongo_tried or not await self._mongo_ready("list", write=False, again=True):
                    raise
                found = await self._list_mongo(config, filter, before, limit)  # half-opened by Redis
                if found is None:
                    raise self._unavailable("list") from exc
        for item in found:
            yield item

    async def _read_redis(self, target: Target) -> CheckpointTuple | None:
        """The checkpoint as Redis holds it; None on a miss or an outage (MongoDB is asked next)."""
        try:
            keys, args = plans.get_args(self.keys, target, self.ttl)
            raw = await self._get(keys=keys, args=args)
        except Exception as exc:
            self._on_redis_error(exc, "get_tuple")
            return None
        self.redis_health.succeeded()
        if hit := plans.decode_hit(raw):
            READS.labels("redis").inc()
            return load_tuple(self.serde, *hit)
        return None

    async def _list_mongo(
        self,
        config: RunnableConfig | None,
        filter: dict[str, Any] | None,
        before: RunnableConfig | None,
        limit: int | None,
    ) -> Sequence[CheckpointTuple] | None:
        """The checkpoints from MongoDB, newest first; None if it failed."""
        try:
            docs = await self._aggregate(plans.list_pipeline(config, filter, before, limit))
        except MONGO_OUTAGE as exc:
            self.mongo_health.failed(exc, "list")
            return None
        self.mongo_health.succeeded()
        return [load_tuple(self.serde, doc, doc["_blobs"], doc["_writes"]) for doc in docs]

    async def _read_mongo(self, target: Target) -> Document | None:
        if not await self._mongo_ready("get_tuple", write=False):
            raise self._unavailable("get_tuple")
        try:
            docs = await self._aggregate(plans.get_pipeline(target))
        except MONGO_OUTAGE as exc:
            self.mongo_health.failed(exc, "get_tuple")
            raise self._unavailable("get_tuple") from exc
        self.mongo_health.succeeded()
        return docs[0] if docs else None

    async def _warm(self, doc: Document, *, latest: bool) -> None:
        if self.redis_health.is_down:
            return
        try:
            await self._run(plans.warm_commands(self.keys, doc, self.ttl, latest=latest))
        except Exception as exc:
            self._on_redis_error(exc, "warm")

    async def _list_redis(
        self,
        config: RunnableConfig | None,
        filter: dict[str, Any] | None,
        before: RunnableConfig | None,
        limit: int | None,
    ) -> Sequence[CheckpointTuple]:
        if config is None or not await self._redis_ready("list"):
            raise self._unavailable("list")
        try:
            thread_id = str(config["configurable"]["thread_id"])
            members: Any = await self.redis.zrange(self.keys.index(thread_id), 0, -1)
            targets = plans.index_members(members, config, before)
            replies = await self._run(
                [plans.get_command(self.keys, t, self.ttl) for t in targets], transaction=False
            )
        except Exception as exc:
            self._on_redis_error(exc, "list")
            raise self._unavailable("list") from exc
        log.info("checkpoints listed from Redis while MongoDB is down", thread_id=thread_id)
        found = []
        for raw in replies:
            hit = plans.decode_hit(raw)
            if hit is not None and plans.metadata_matches(hit[0]["metadata"], filter):
                found.append(load_tuple(self.serde, *hit))
        return found if limit is None else found[:limit]
