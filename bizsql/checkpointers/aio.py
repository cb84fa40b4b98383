"""AsyncRedisMongoSaver: the Redis-first, MongoDB-durable LangGraph checkpointer (the one body of it).

Reads try Redis, then MongoDB (warming Redis again). Writes go to MongoDB, then to Redis with a TTL. With
Redis down, everything goes on against MongoDB; with MongoDB down, writes wait in Redis without TTL and are
flushed, in order, by the next write or ``aflush_pending``; with both down, ``MemoryUnavailable``.

It runs on ``redis.asyncio`` and pymongo's ``AsyncMongoClient``, so a graph's checkpoint I/O never blocks
the event loop. Its sync methods work from other threads (as langgraph's AsyncPostgresSaver's do);
``RedisMongoSaver`` is this saver behind a loop of its own, for sync code. The parts: ``reads``,
``writes``, ``maintenance``, and ``recovery`` (the queue, healing Redis).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Self

import redis.asyncio as aioredis
import structlog
from langgraph.checkpoint.serde.base import SerializerProtocol
from pymongo import AsyncMongoClient

from bizsql.checkpointers import plans
from bizsql.checkpointers.base import DEFAULT_PREFIX, Document
from bizsql.checkpointers.body import SaverBody
from bizsql.checkpointers.clients import async_mongo_client, async_redis_client
from bizsql.checkpointers.loop_thread import call_on
from bizsql.checkpointers.options import settings_options
from bizsql.checkpointers.scripts import GET_CHECKPOINT
from bizsql.checkpointers.sync_calls import AsyncCall, SyncCalls, T
from bizsql.config import Settings

log = structlog.get_logger(__name__)


class AsyncRedisMongoSaver(SyncCalls, SaverBody):
    """Async saver over ``redis.asyncio.Redis`` and ``pymongo.AsyncMongoClient``."""

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
        self._loop = None
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

    def _call(self, run: AsyncCall[T]) -> T:
        """The sync methods (``SyncCalls``): allowed from other threads while the saver's event loop runs."""
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
        return call_on(loop, lambda: run(self))
