"""RedisMongoSaver: the synchronous Redis-first, MongoDB-durable LangGraph checkpointer.

Reads try Redis, then MongoDB (warming Redis again). Writes go to MongoDB, then to Redis with a TTL. With
Redis down, everything goes on against MongoDB; with MongoDB down, writes wait in Redis without TTL and are
flushed, in order, by the next write or ``flush_pending``; with both down, ``MemoryUnavailable``.
The async twin, ``AsyncRedisMongoSaver``, lives in ``aio.py`` (as langgraph lays its savers out).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any, Self

import redis
import redis.exceptions
import structlog
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import ChannelVersions, Checkpoint, CheckpointMetadata, CheckpointTuple
from langgraph.checkpoint.serde.base import SerializerProtocol
from pymongo import MongoClient

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
from bizsql.checkpointers.clients import mongo_client, redis_client
from bizsql.checkpointers.faults import MONGO_OUTAGE, PENDING, READS
from bizsql.checkpointers.pending import (
    MongoWrite,
    PendingEntry,
)
from bizsql.checkpointers.recovery import SyncRecovery
from bizsql.checkpointers.scripts import GET_CHECKPOINT
from bizsql.config import Settings

log = structlog.get_logger(__name__)


class RedisMongoSaver(SyncRecovery):
    """Synchronous saver over ``redis.Redis`` and ``pymongo.MongoClient``; its async methods run it in a
    worker thread, so it also serves async graphs (``AsyncRedisMongoSaver`` does so without threads)."""

    def __init__(
        self,
        redis: redis.Redis,
        mongo: MongoClient[Document],
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
        self._flush_guard = threading.Lock()

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
        """A saver with its own fail-fast clients, closed by ``close()``."""
        return cls(
            redis_client(redis_url, timeout_ms=redis_timeout_ms),
            mongo_client(mongo_url, timeout_ms=mongo_timeout_ms, socket_timeout_ms=mongo_socket_timeout_ms),
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

    def setup(self) -> None:
        """Create the MongoDB indexes (idempotent); reads and writes work without them, only slower."""
        for collection, models in plans.INDEXES.items():
            if models:
                self.db[collection].create_indexes(models)

    def close(self) -> None:
        if self._owns_clients:
            self.redis.close()
            self.mongo.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reads -----------------------------------------------------------------------------------------

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        target = Target.of(config)
        if self._redis_ready("get_tuple"):
            try:
                keys, args = plans.get_args(self.keys, target, self.ttl)
                raw = self._get(keys=keys, args=args)
            except Exception as exc:
                self._on_redis_error(exc, "get_tuple")
            else:
                self.redis_health.succeeded()
                if hit := plans.decode_hit(raw):
                    READS.labels("redis").inc()
                    return load_tuple(self.serde, *hit)
        doc = self._read_mongo(target)
        READS.labels("mongo" if doc else "none").inc()
        if doc is None:
            return None
        self._warm(doc, latest=target.checkpoint_id is None)
        return load_tuple(self.serde, doc, doc["_blobs"], doc["_writes"])

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """From MongoDB (the complete history); only while MongoDB is down, from what Redis holds."""
        if limit is not None and limit <= 0:
            return
        if self._mongo_ready("list", write=False):
            try:
                docs = list(
                    self.db[CHECKPOINTS].aggregate(plans.list_pipeline(config, filter, before, limit))
                )
            except MONGO_OUTAGE as exc:
                self.mongo_health.failed(exc, "list")
            else:
                self.mongo_health.succeeded()
                for doc in docs:
                    yield load_tuple(self.serde, doc, doc["_blobs"], doc["_writes"])
                return
        yield from self._list_redis(config, filter, before, limit)

    def _read_mongo(self, target: Target) -> Document | None:
        if not self._mongo_ready("get_tuple", write=False):
            raise self._unavailable("get_tuple")
        try:
            docs = list(self.db[CHECKPOINTS].aggregate(plans.get_pipeline(target)))
        except MONGO_OUTAGE as exc:
            self.mongo_health.failed(exc, "get_tuple")
            raise self._unavailable("get_tuple") from exc
        self.mongo_health.succeeded()
        return docs[0] if docs else None

    def _warm(self, doc: Document, *, latest: bool) -> None:
        if self.redis_health.is_down:
            return
        try:
            self._run(plans.warm_commands(self.keys, doc, self.ttl, latest=latest))
        except Exception as exc:
            self._on_redis_error(exc, "warm")

    def _list_redis(
        self,
        config: RunnableConfig | None,
        filter: dict[str, Any] | None,
        before: RunnableConfig | None,
        limit: int | None,
    ) -> Iterator[CheckpointTuple]:
        if config is None or not self._redis_ready("list"):
            raise self._unavailable("list")
        try:
            thread_id = str(config["configurable"]["thread_id"])
            members: Any = self.redis.zrange(self.keys.index(thread_id), 0, -1)
            targets = plans.index_members(members, config, before)
            commands = [plans.get_command(self.keys, target, self.ttl) for target in targets]
            replies = self._run(commands, transaction=False)
        except Exception as exc:
            self._on_redis_error(exc, "list")
            raise self._unavailable("list") from exc
        log.info("checkpoints listed from Redis while MongoDB is down", thread_id=thread_id)
        for raw in replies:
            hit = plans.decode_hit(raw)
            if hit is None or not plans.metadata_matches(hit[0]["metadata"], filter):
                continue
            yield load_tuple(self.serde, *hit)
            if limit is not None:
                limit -= 1
                if limit <= 0:
                    return

    # --- writes ----------------------------------------------------------------------------------------

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        docs = dump_checkpoint(self.serde, config, checkpoint, metadata, new_versions)
        self._write(
            "put",
            docs.target,
            plans.put_writes_for(docs),
            lambda pending: plans.put_commands(self.keys, docs, self.ttl, pending=pending),
            plans.put_expire_keys(self.keys, docs.target),
        )
        return docs.next_config

    def put_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        target, docs = dump_writes(self.serde, config, writes, task_id, task_path)
        if not docs:
            return
        self._write(
            "put_writes",
            target,
            plans.writes_writes_for(docs),
            lambda pending: plans.writes_commands(self.keys, target, docs, self.ttl, pending=pending),
            plans.writes_expire_keys(self.keys, target),
        )

    def delete_thread(self, thread_id: str) -> None:
        thread_id = str(thread_id)
        self._write(
            "delete_thread",
            Target(thread_id, "", None),
            plans.delete_writes_for(thread_id),
            lambda pending: [plans.delete_thread_command(self.keys, thread_id)],
            (),
        )

    def _write(
        self,
        op: str,
        target: Target,
        writes: Sequence[MongoWrite],
        redis_commands: Callable[[bool], plans.Commands],
        expire: Sequence[str],
    ) -> None:
        """MongoDB first; Redis with TTL if MongoDB took it, else without TTL plus a queue entry."""
        stored = False
        if self._mongo_ready(op, write=True):
            try:
                self._apply(writes)
            except MONGO_OUTAGE as exc:
                self.mongo_health.failed(exc, op)
            else:
                self.mongo_health.succeeded()
                stored = True
        if self._redis_ready(op):
            commands = redis_commands(not stored)
            if not stored:
                entry = PendingEntry(op, target.thread_id, writes, expire)
                commands.append(("RPUSH", self.keys.queue, entry.encode()))
            commands.append(("LLEN", self.keys.queue))
            try:
                replies = self._run(commands)
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
        self._mark_stale(target.thread_id)

    # --- the other BaseCheckpointSaver operations (langgraph-api calls them; they need MongoDB) ---------

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        if not run_ids:
            return
        with self._mongo_required("delete_for_runs"):
            found = list(self.db[CHECKPOINTS].find({"run_id": {"$in": list(run_ids)}}, {"thread_id": 1}))
            ids = [d["_id"] for d in found]
            self.db[WRITES].delete_many({"checkpoint_key": {"$in": ids}})
            self.db[CHECKPOINTS].delete_many({"_id": {"$in": ids}})
            threads = {d["thread_id"] for d in found}
            self._collect_blobs(threads)
        self._invalidate(threads)

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        with self._mongo_required("copy_thread"):
            source = {"thread_id": str(source_thread_id)}
            checkpoints = list(self.db[CHECKPOINTS].find(source))
            if not checkpoints:
                return
            blobs, writes = list(self.db[BLOBS].find(source)), list(self.db[WRITES].find(source))
            self._apply(plans.copy_docs(str(target_thread_id), checkpoints, blobs, writes))
        self._invalidate({str(target_thread_id)})

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """``keep_latest`` keeps each namespace's newest checkpoint (threads using DeltaChannel are left
        whole, as langgraph advises); ``delete`` removes the threads."""
        if strategy == "delete":
            for thread_id in thread_ids:
                self.delete_thread(thread_id)
            return
        if strategy != "keep_latest":
            raise ValueError(f"unknown prune strategy {strategy!r}")
        pruned = set()
        with self._mongo_required("prune"):
            for thread_id in map(str, thread_ids):
                checkpoints = list(self.db[CHECKPOINTS].find({"thread_id": thread_id}, plans.PRUNE_FIELDS))
                if plans.uses_delta_channels(checkpoints):
                    log.info("prune skipped a thread that uses delta channels", thread_id=thread_id)
                    continue
                keep = plans.latest_per_namespace(checkpoints)
                drop = [c["_id"] for c in checkpoints if c["_id"] not in keep]
                self.db[WRITES].delete_many({"checkpoint_key": {"$in": drop}})
                self.db[CHECKPOINTS].delete_many({"_id": {"$in": drop}})
                pruned.add(thread_id)
            self._collect_blobs(pruned)
        self._invalidate(pruned)

    def _collect_blobs(self, threads: set[str]) -> None:
        for thread_id in threads:
            referenced = self.db[CHECKPOINTS].distinct("blob_ids", {"thread_id": thread_id})
            self.db[BLOBS].delete_many(plans.orphan_blobs_filter(thread_id, referenced))

    def _mongo_required(self, op: str) -> MongoRequired:
        if not self._mongo_ready(op, write=True):
            raise self._unavailable(op)
        return MongoRequired(self, op)

    def _invalidate(self, threads: set[str]) -> None:
        """Drop Redis's copy of threads changed in MongoDB behind its back (mark them if Redis is down)."""
        if not threads:
            return
        if self._redis_ready("invalidate"):
            try:
                self._run([plans.delete_thread_command(self.keys, t) for t in threads], transaction=False)
                return
            except Exception as exc:
                self._on_redis_error(exc, "invalidate")
        for thread_id in threads:
            self._mark_stale(thread_id)

    # --- async twins: the sync code in a worker thread ------------------------------------------------

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await asyncio.to_thread(self.get_tuple, config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        items = await asyncio.to_thread(
            lambda: list(self.list(config, filter=filter, before=before, limit=limit))
        )
        for item in items:
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return await asyncio.to_thread(self.put, config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        await asyncio.to_thread(self.put_writes, config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        await asyncio.to_thread(self.delete_thread, thread_id)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        await asyncio.to_thread(self.delete_for_runs, run_ids)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        await asyncio.to_thread(self.copy_thread, source_thread_id, target_thread_id)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        await asyncio.to_thread(lambda: self.prune(thread_ids, strategy=strategy))

    async def aflush_pending(self, limit: int | None = None) -> int:
        return await asyncio.to_thread(self.flush_pending, limit)


from bizsql.checkpointers.aio import AsyncRedisMongoSaver  # noqa: E402  (re-exported for one import path)

__all__ = ["AsyncRedisMongoSaver", "RedisMongoSaver"]
