"""Pending writes and recovery: flushing the queue, healing Redis, and the raw store I/O.

One awaited body: ``AsyncRedisMongoSaver`` is built on it, and ``RedisMongoSaver`` runs that saver on a
loop of its own, so the sync API takes the same steps.

* MongoDB is used only behind the queue: a write must not reach MongoDB before the writes queued before it,
  so ``_mongo_ready`` flushes first, and a write goes to the queue if the queue is still not empty.
* A thread written while Redis could not be is marked stale (in memory and in MongoDB); when Redis answers
  again, ``_heal`` drops Redis's copy of it before anything is read from Redis.
* Except what this process still holds of such a thread (``catchup``): ``_heal`` first writes that into
  Redis, so the thread survives MongoDB failing straight after. The drop spares it from then on, unless
  it is marked again, or marked by another process.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis
import redis.exceptions
import structlog
from pymongo import DeleteOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from bizsql.checkpointers import plans
from bizsql.checkpointers.base import STALE, Document
from bizsql.checkpointers.faults import FLUSHED, MONGO_OUTAGE, PENDING, is_redis_outage
from bizsql.checkpointers.pending import (
    FLUSH_BATCH,
    FLUSH_LOCK_SECONDS,
    INLINE_FLUSH_LIMIT,
    MongoWrite,
    PendingEntry,
)
from bizsql.checkpointers.saver_state import BaseRedisMongoSaver

log = structlog.get_logger(__name__)

HEAL_BATCH = 500


class AsyncRecovery(BaseRedisMongoSaver):
    """The recovery half of ``AsyncRedisMongoSaver``: its clients are set by the saver's constructor."""

    redis: aioredis.Redis
    db: AsyncDatabase[Document]
    _flush_guard: asyncio.Lock
    _loop: asyncio.AbstractEventLoop | None
    """The loop the saver last ran on, for its sync methods (``sync_calls``)."""

    async def aflush_pending(self, limit: int | None = None) -> int:
        """Replay the writes held in Redis into MongoDB, oldest first; returns how many landed.

        Safe to call from several processes at once (a Redis lock lets one flush at a time). The server's
        lifespan calls it every few seconds (``flush_forever``); the next write calls it too.
        """
        return await self._flush(limit) or 0

    async def _flush(self, limit: int | None) -> int | None:
        """Like ``aflush_pending``, but None when Redis failed (the caller must not trust Redis now).

        Calls in this process wait their turn (so a write waits for the flush, then goes straight to
        MongoDB); another process flushing makes this call return and the write queue up behind.
        """
        if not (self.redis_health.available("flush") and self.mongo_health.available("flush")):
            return 0
        async with self._flush_guard:
            return await self._flush_locked(limit)

    async def _flush_locked(self, limit: int | None) -> int | None:
        try:
            if await self.redis.llen(self.keys.queue) == 0:
                self._note_queue(0)
                PENDING.set(0)
                return 0
            lock = self.redis.lock(self.keys.flush_lock, timeout=FLUSH_LOCK_SECONDS, blocking=False)
            if not await lock.acquire():
                self._pending = "nonempty"
                return 0
            try:
                return await self._drain(lock, limit)
            finally:
                with contextlib.suppress(redis.exceptions.LockError):
                    await lock.release()
        except Exception as exc:
            self._on_redis_error(exc, "flush")
            return None

    async def _drain(self, lock: Any, limit: int | None) -> int:
        done = 0
        while limit is None or done < limit:  # until empty: writes may queue up while this flush runs
            size = FLUSH_BATCH if limit is None else min(FLUSH_BATCH, limit - done)
            batch = await self.redis.lrange(self.keys.queue, 0, size - 1)
            for raw in batch:
                entry = PendingEntry.decode(raw)
                try:
                    await self._apply(entry.writes)
                except MONGO_OUTAGE as exc:
                    self.mongo_health.failed(exc, "flush")
                    self._pending = "nonempty"
                    return done
                except PyMongoError as exc:
                    log.error("queued checkpoint write refused by MongoDB; kept aside", op=entry.op,
                              thread_id=entry.thread_id, error=str(exc))  # fmt: skip
                    await self._run(
                        [("RPUSH", self.keys.dead_letters, raw), ("LREM", self.keys.queue, 1, raw)]
                    )
                    continue
                self.mongo_health.succeeded()
                lifetime = plans.lifetime(entry.expire, self.ttl, pending=False)
                await self._run([*lifetime, ("LREM", self.keys.queue, 1, raw)])
                done += 1
                FLUSHED.inc()
            if not batch:
                break
            await lock.extend(FLUSH_LOCK_SECONDS, replace_ttl=True)
        remaining = int(await self.redis.llen(self.keys.queue))
        self._note_queue(remaining)
        PENDING.set(remaining)
        if done:
            log.info("pending checkpoint writes flushed to MongoDB", flushed=done, remaining=remaining)
        return done

    async def _mongo_ready(self, op: str, *, write: bool, again: bool = False) -> bool:
        """May MongoDB be used now? Writes must wait behind queued ones, so the queue is flushed first.

        ``again``: Redis failed in this call after MongoDB was skipped, which may have half-opened it.
        """
        if not self.mongo_health.available(op, again=again):
            return False
        if self._pending != "empty":
            if self.redis_health.is_down:
                return self._pending == "unknown"
            await self._flush(INLINE_FLUSH_LIMIT)
            if self.mongo_health.is_down:
                return False
        return not (write and self._pending == "nonempty")

    async def _redis_ready(self, op: str, *, again: bool = False) -> bool:
        """May Redis be used now (healed first if due)? ``again`` as for ``_mongo_ready``, the other way."""
        if not self.redis_health.available(op, again=again):
            return False
        return await self._heal() if self._heal_due else True

    async def _heal(self) -> bool:
        """Once Redis answers again: write into it the threads held for it, then drop its copy of the
        other threads written while it did not answer (stale otherwise).

        Queued writes are flushed first, so a dropped thread is complete in MongoDB. Returns whether Redis
        may be used.
        """
        if self._pending != "empty" and await self._flush(INLINE_FLUSH_LIMIT) is None:
            return False
        if not await self._catch_up_redis():
            return False
        markers: list[Document] = []
        complete = False
        if self.mongo_health.available("heal"):
            try:
                markers = await self.db[STALE].find({}, limit=HEAL_BATCH).to_list()
                complete = len(markers) < HEAL_BATCH
            except MONGO_OUTAGE as exc:
                self.mongo_health.failed(exc, "heal")
        threads = self._stale_local | self._stale_by_marks(markers)
        if threads:
            try:
                await self._run(
                    [plans.delete_thread_command(self.keys, t) for t in threads], transaction=False
                )
            except Exception as exc:
                self._on_redis_error(exc, "heal")
                return False
            self.redis_health.succeeded()
            self._stale_local -= threads
            log.info("dropped Redis copies of threads written while Redis was down", threads=len(threads))
        if markers:
            try:
                await self.db[STALE].bulk_write(
                    [DeleteOne({"_id": m["_id"], "at": m["at"]}) for m in markers]
                )
            except MONGO_OUTAGE as exc:
                self.mongo_health.failed(exc, "heal")
                markers, complete = [], False
        self._marks_cleared(markers, complete=complete)
        self._heal_due = not complete or bool(self._stale_local) or bool(self._catch_up)
        return True

    async def _catch_up_redis(self) -> bool:
        """Write into Redis each thread held for it (``catchup``), before it is healed or read; False if
        Redis failed."""
        due = self._catch_up.due()
        for held in due:
            try:
                await self._run(plans.catch_up_commands(self.keys, held, self.ttl))
            except Exception as exc:
                self._on_redis_error(exc, "catch_up")
                return False
            self.redis_health.succeeded()
            self._caught_up_with(held)
        if due:
            log.info("threads written while Redis was down are in Redis again", threads=len(due))
        return True

    async def _mark_stale(self, thread_id: str) -> None:
        """Remember that Redis missed a write of this thread: in memory, and in MongoDB for others (signed,
        so this process's catch-up can tell its own mark)."""
        self._stale_local.add(thread_id)
        self._caught_up.discard(thread_id)
        self._heal_due = True
        if not self.mongo_health.available("mark_stale"):
            return
        try:
            await self.db[STALE].update_one(
                {"_id": thread_id}, {"$set": {"at": datetime.now(UTC), "mark": self._mark}}, upsert=True
            )
        except MONGO_OUTAGE as exc:
            self.mongo_health.failed(exc, "mark_stale")

    def _on_redis_error(self, exc: Exception, op: str) -> None:
        if not is_redis_outage(exc):
            raise exc
        self._redis_failed(exc, op)

    async def _run(self, commands: Sequence[plans.Command], *, transaction: bool = True) -> list[Any]:
        async with self.redis.pipeline(transaction=transaction) as pipe:
            for command in commands:
                pipe.execute_command(*command)
            return await pipe.execute()

    async def _apply(self, writes: Sequence[MongoWrite]) -> None:
        for write in writes:
            if requests := write.requests():
                await self.db[write.collection].bulk_write(requests, ordered=True)
