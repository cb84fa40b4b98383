"""The saver's write path: ``aput``, ``aput_writes`` and ``adelete_thread``.

Writes go to MongoDB, then to Redis with a TTL. With MongoDB down they wait in Redis without TTL, queued
for MongoDB in order (``pending``); with Redis down MongoDB alone takes them and the thread is marked stale
for Redis (``recovery``); with both down the call raises ``MemoryUnavailable``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import structlog
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import ChannelVersions, Checkpoint, CheckpointMetadata

from bizsql.checkpointers import plans
from bizsql.checkpointers.base import Target, dump_checkpoint, dump_writes
from bizsql.checkpointers.faults import MONGO_OUTAGE, PENDING
from bizsql.checkpointers.pending import MongoWrite, PendingEntry
from bizsql.checkpointers.recovery import AsyncRecovery

log = structlog.get_logger(__name__)


class SaverWrites(AsyncRecovery):
    """Writes of ``AsyncRedisMongoSaver``: each call is MongoDB writes plus Redis commands (``plans``)."""

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
            lambda: self._hold_put(docs, checkpoint),
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
            lambda: self._catch_up.writes(target, docs),
        )

    async def adelete_thread(self, thread_id: str) -> None:
        thread_id = str(thread_id)
        await self._write(
            "delete_thread",
            Target(thread_id, "", None),
            plans.delete_writes_for(thread_id),
            lambda pending: [plans.delete_thread_command(self.keys, thread_id)],
            (),
            lambda: self._catch_up.forget(thread_id),
        )

    async def _write(
        self,
        op: str,
        target: Target,
        writes: Sequence[MongoWrite],
        redis_commands: Callable[[bool], plans.Commands],
        expire: Sequence[str],
        hold: Callable[[], None],
    ) -> None:
        """MongoDB first; Redis with TTL if MongoDB took it, else without TTL plus a queue entry. What
        MongoDB alone took is marked stale and ``hold`` keeps it for Redis (``catchup``)."""
        mongo_tried = await self._mongo_ready(op, write=True)
        stored = mongo_tried and await self._write_mongo(op, writes)
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
        if not (stored or mongo_tried) and await self._mongo_ready(op, write=True, again=True):
            stored = await self._write_mongo(op, writes)  # Redis's failure half-opened MongoDB's breaker
        if not stored:
            raise self._unavailable(op)
        hold()
        await self._mark_stale(target.thread_id)

    async def _write_mongo(self, op: str, writes: Sequence[MongoWrite]) -> bool:
        """Apply one call's writes to MongoDB; False if it is down."""
        try:
            await self._apply(writes)
        except MONGO_OUTAGE as exc:
            self.mongo_health.failed(exc, op)
            return False
        self.mongo_health.succeeded()
        return True
