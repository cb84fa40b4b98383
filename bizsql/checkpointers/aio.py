"""AsyncRedisMongoSaver: the asyncio twin of ``RedisMongoSaver`` (same layout, same fault handling).

It runs on ``redis.asyncio`` and pymongo's ``AsyncMongoClient``, so a graph's checkpoint I/O never blocks
the event loop. Its sync methods work from other threads (as langgraph's AsyncPostgresSaver's do).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import Any, Self, TypeVar

import redis.asyncio as aioredis
import structlog
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import ChannelVersions, Checkpoint, CheckpointMetadata, CheckpointTuple
from langgraph.checkpoint.serde.base import SerializerProtocol
from pymongo import AsyncMongoClient

from bizsql.checkpointers import plans
from bizsql.checkpointers.base import (
    BLOBS,
    CHECKPOINTS,
    DEFAULT_PREFIX,
    WRITES,
    Document,
    MongoRequired,
    Target,
    dump_checkpoint,
    dump_writes,
    load_tuple,
    settings_options,
)
from bizsql.checkpointers.clients import async_mongo_client, async_redis_client
from bizsql.checkpointers.faults import MONGO_OUTAGE, PENDING, READS
from bizsql.checkpointers.pending import (
    MongoWrite,
    PendingEntry,
)
from bizsql.checkpointers.recovery import AsyncRecovery
from bizsql.checkpointers.scripts import GET_CHECKPOINT
from bizsql.config import Settings

log = structlog.get_logger(__name__)

T = TypeVar("T")


class AsyncRedisMongoSaver(AsyncRecovery):
    """Async saver over ``redis.asyncio.Redis`` and ``pymongo.AsyncMongoClient`` (see ``RedisMongoSaver``)."""

    def __init__(
        self,
        redis: aioredis.Redis,
        mongo: AsyncMongoClient[Document],
        *,
        db_name: str = "bizsql",
        ttl_seconds: int = 3600,
        retry_seconds: float = 2.0,
        key_prefix: str = DEFAULT_PREFIX,
        serde: SerializerProtocol | None = None,
        owns_clients: bool = False,
    ) -> None:
        super().__init__(
            ttl_seconds=ttl_seconds, retry_seconds=retry_seconds, key_prefix=key_prefix, serde=serde
        )
        self.redis = redis
        self.mongo = mongo
        self.db = mongo[db_name]
        self._owns_clients = owns_clients
        self._get = redis.register_script(GET_CHECKPOINT)
        self._flush_guard = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        with contextlib.suppress(RuntimeError):
            self._loop = asyncio.get_running_loop()

    @classmethod
    def from_urls(
        cls,
        redis_url: str,
        mongo_url: str,
        *,
        ttl_seconds: int = 3600,
        db_name: str = "bizsql",
        redis_timeout_ms: int = 500,
        mongo_timeout_ms: int = 500,
        mongo_socket_timeout_ms: int = 2000,
        retry_seconds: float = 2.0,
        key_prefix: str = DEFAULT_PREFIX,
        serde: SerializerProtocol | None = None,
    ) -> Self:
        """A saver with its own fail-fast clients, closed by ``aclose()``. No connection opens until used."""
        return cls(
            async_redis_client(redis_url, timeout_ms=redis_timeout_ms),
            async_mongo_client(
                mongo_url, timeout_ms=mongo_timeout_ms, socket_timeout_ms=mongo_socket_timeout_ms
            ),
            db_name=db_name,
            ttl_seconds=ttl_seconds,
            retry_seconds=retry_seconds,
            key_prefix=key_prefix,
            serde=serde,
            owns_clients=True,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        assert settings.redis_url and settings.mongo_url, "resolve the server URLs first (embedded_servers)"
        return cls.from_urls(settings.redis_url, settings.mongo_url, **settings_options(settings))

    async def asetup(self) -> None:
        """Create the MongoDB indexes (idempotent); reads and writes work without them, only slower."""
        for collection, models in plans.INDEXES.items():
            if models:
                await self.db[collection].create_indexes(models)

    async def aclose(self) -> None:
        if self._owns_clients:
            await self.redis.aclose()
            await self.mongo.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def flush_forever(self, interval_seconds: float) -> None:
        """Flush pending writes every ``interval_seconds`` until cancelled (a server lifespan task)."""
        while True:
            await asyncio.sleep(interval_seconds)
            try:
                await self.aflush_pending()
            except Exception as exc:  # a background task must outlive any one bad flush
                log.warning("background flush of pending checkpoints failed", error=str(exc))

    # --- reads -----------------------------------------------------------------------------------------

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        self._loop = asyncio.get_running_loop()
        target = Target.of(config)
        if await self._redis_ready("get_tuple"):
            try:
                keys, args = plans.get_args(self.keys, target, self.ttl)
                raw = await self._get(keys=keys, args=args)
            except Exception as exc:
                self._on_redis_error(exc, "get_tuple")
            else:
                self.redis_health.succeeded()
                if hit := plans.decode_hit(raw):
                    READS.labels("redis").inc()
                    return load_tuple(self.serde, *hit)
        doc = await self._read_mongo(target)
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
        if await self._mongo_ready("list", write=False):
            try:
                cursor = await self.db[CHECKPOINTS].aggregate(
                    plans.list_pipeline(config, filter, before, limit)
                )
                docs = await cursor.to_list()
            except MONGO_OUTAGE as exc:
                self.mongo_health.failed(exc, "list")
            else:
                self.mongo_health.succeeded()
                for doc in docs:
                    yield load_tuple(self.serde, doc, doc["_blobs"], doc["_writes"])
                return
        for item in await self._list_redis(config, filter, before, limit):
            yield item

    async def _read_mongo(self, target: Target) -> Document | None:
        if not await self._mongo_ready("get_tuple", write=False):
            raise self._unavailable("get_tuple")
        try:
            cursor = await self.db[CHECKPOINTS].aggregate(plans.get_pipeline(target))
            docs = await cursor.to_list()
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
    ) -> list[CheckpointTuple]:
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

    # --- writes ----------------------------------------------------------------------------------------

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        self._loop = asyncio.get_running_loop()
        docs = dump_checkpoint(self.serde, config, checkpoint, metadata, new_versions)
        await self._write(
            "put",
            docs.target,
            plans.put_writes_for(docs),
            lambda pending: plans.put_commands(self.keys, docs, self.ttl, pending=pending),
            plans.put_expire_keys(self.keys, docs.target),
        )
        return docs.next_config

    async def aput_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        self._loop = asyncio.get_running_loop()
        target, docs = dump_writes(self.serde, config, writes, task_id, task_path)
        if not docs:
            return
        await self._write(
            "put_writes",
            target,
            plans.writes_writes_for(docs),
            lambda pending: plans.writes_commands(self.keys, target, docs, self.ttl, pending=pending),
            plans.writes_expire_keys(self.keys, target),
        )

    async def adelete_thread(self, thread_id: str) -> None:
        thread_id = str(thread_id)
        await self._write(
            "delete_thread",
            Target(thread_id, "", None),
            plans.delete_writes_for(thread_id),
            lambda pending: [plans.delete_thread_command(self.keys, thread_id)],
            (),
        )

    async def _write(
        self,
        op: str,
        target: Target,
        writes: Sequence[MongoWrite],
        redis_commands: Callable[[bool], plans.Commands],
        expire: Sequence[str],
    ) -> None:
        """MongoDB first; Redis with TTL if MongoDB took it, else without TTL plus a queue entry."""
        stored = False
        if await self._mongo_ready(op, write=True):
            try:
                await self._apply(writes)
            except MONGO_OUTAGE as exc:
                self.mongo_health.failed(exc, op)
            else:
                self.mongo_health.succeeded()
                stored = True
        if await self._redis_ready(op):
            commands = redis_commands(not stored)
            if not stored:
                entry = PendingEntry(op, target.thread_id, writes, expire)
                commands.append(("RPUSH", self.keys.queue, entry.encode()))
            commands.append(("LLEN", self.keys.queue))
            try:
                replies = await self._run(commands)
            except Exception as exc:
                self._on_redis_error(exc, op)
            else:
                self.redis_health.succeeded()
                self._note_queue(int(replies[-1]))
                if not stored:
                    PENDING.set(int(replies[-1]))
                    log.info("checkpoint write held in Redis for MongoDB", op=op, thread_id=target.thread_id)
                return
        if not stored:
            raise self._unavailable(op)
        await self._mark_stale(target.thread_id)

    # --- the other BaseCheckpointSaver operations (langgraph-api calls them; they need MongoDB) ---------

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        if not run_ids:
            return
        with await self._mongo_required("delete_for_runs"):
            cursor = self.db[CHECKPOINTS].find({"run_id": {"$in": list(run_ids)}}, {"thread_id": 1})
            found = await cursor.to_list()
            ids = [d["_id"] for d in found]
            await self.db[WRITES].delete_many({"checkpoint_key": {"$in": ids}})
            await self.db[CHECKPOINTS].delete_many({"_id": {"$in": ids}})
            threads = {d["thread_id"] for d in found}
            await self._collect_blobs(threads)
        await self._invalidate(threads)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        with await self._mongo_required("copy_thread"):
            source = {"thread_id": str(source_thread_id)}
            checkpoints = await self.db[CHECKPOINTS].find(source).to_list()
            if not checkpoints:
                return
            blobs = await self.db[BLOBS].find(source).to_list()
            writes = await self.db[WRITES].find(source).to_list()
            await self._apply(plans.copy_docs(str(target_thread_id), checkpoints, blobs, writes))
        await self._invalidate({str(target_thread_id)})

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """``keep_latest`` keeps each namespace's newest checkpoint (threads using DeltaChannel are left
        whole, as langgraph advises); ``delete`` removes the threads."""
        if strategy == "delete":
            for thread_id in thread_ids:
                await self.adelete_thread(thread_id)
            return
        if strategy != "keep_latest":
            raise ValueError(f"unknown prune strategy {strategy!r}")
        pruned = set()
        with await self._mongo_required("prune"):
            for thread_id in map(str, thread_ids):
                checkpoints = (
                    await self.db[CHECKPOINTS].find({"thread_id": thread_id}, plans.PRUNE_FIELDS).to_list()
                )
                if plans.uses_delta_channels(checkpoints):
                    log.info("prune skipped a thread that uses delta channels", thread_id=thread_id)
                    continue
                keep = plans.latest_per_namespace(checkpoints)
                drop = [c["_id"] for c in checkpoints if c["_id"] not in keep]
                await self.db[WRITES].delete_many({"checkpoint_key": {"$in": drop}})
                await self.db[CHECKPOINTS].delete_many({"_id": {"$in": drop}})
                pruned.add(thread_id)
            await self._collect_blobs(pruned)
        await self._invalidate(pruned)

    async def _collect_blobs(self, threads: set[str]) -> None:
        for thread_id in threads:
            referenced = await self.db[CHECKPOINTS].distinct("blob_ids", {"thread_id": thread_id})
            await self.db[BLOBS].delete_many(plans.orphan_blobs_filter(thread_id, referenced))

    async def _mongo_required(self, op: str) -> MongoRequired:
        if not await self._mongo_ready(op, write=True):
            raise self._unavailable(op)
        return MongoRequired(self, op)

    async def _invalidate(self, threads: set[str]) -> None:
        """Drop Redis's copy of threads changed in MongoDB behind its back (mark them if Redis is down)."""
        if not threads:
            return
        if await self._redis_ready("invalidate"):
            try:
                await self._run(
                    [plans.delete_thread_command(self.keys, t) for t in threads], transaction=False
                )
                return
            except Exception as exc:
                self._on_redis_error(exc, "invalidate")
        for thread_id in threads:
            await self._mark_stale(thread_id)

    # --- sync twins: allowed from other threads while the saver's event loop runs -------------------

    def _call(self, make: Callable[[], Awaitable[T]]) -> T:
        loop = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is None or running is loop:
            raise asyncio.InvalidStateError(
                "AsyncRedisMongoSaver's sync methods only work from another thread while its event loop "
                "runs; use the async methods (ainvoke, aget_state...) or RedisMongoSaver"
            )
        return asyncio.run_coroutine_threadsafe(_awaited(make), loop).result()

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self._call(lambda: self.aget_tuple(config))

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        async def collect() -> list[CheckpointTuple]:
            return [t async for t in self.alist(config, filter=filter, before=before, limit=limit)]

        yield from self._call(collect)

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return self._call(lambda: self.aput(config, checkpoint, metadata, new_versions))

    def put_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        self._call(lambda: self.aput_writes(config, writes, task_id, task_path))

    def delete_thread(self, thread_id: str) -> None:
        self._call(lambda: self.adelete_thread(thread_id))

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        self._call(lambda: self.adelete_for_runs(run_ids))

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        self._call(lambda: self.acopy_thread(source_thread_id, target_thread_id))

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        self._call(lambda: self.aprune(thread_ids, strategy=strategy))

    def flush_pending(self, limit: int | None = None) -> int:
        return self._call(lambda: self.aflush_pending(limit))


async def _awaited(make: Callable[[], Awaitable[T]]) -> T:
    return await make()
