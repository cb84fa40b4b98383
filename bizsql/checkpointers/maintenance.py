"""The saver's maintenance operations: ``adelete_for_runs``, ``acopy_thread`` and ``aprune``.

langgraph-api calls them, never a graph's turn. They change MongoDB's history directly, so they need
MongoDB (``MongoRequired``), and Redis's copy of each thread they change is dropped afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType

import structlog

from bizsql.checkpointers import plans
from bizsql.checkpointers.base import BLOBS, CHECKPOINTS, WRITES
from bizsql.checkpointers.faults import MONGO_OUTAGE
from bizsql.checkpointers.saver_state import BaseRedisMongoSaver
from bizsql.checkpointers.writes import SaverWrites

log = structlog.get_logger(__name__)


class MongoRequired:
    """``with`` block of an operation that needs MongoDB: an outage inside becomes ``MemoryUnavailable``."""

    def __init__(self, saver: BaseRedisMongoSaver, op: str) -> None:
        self.saver, self.op = saver, op

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            self.saver.mongo_health.succeeded()
        elif isinstance(exc, MONGO_OUTAGE):
            self.saver.mongo_health.failed(exc, self.op)
            raise self.saver._unavailable(self.op) from exc


class SaverMaintenance(SaverWrites):
    """History edits of ``AsyncRedisMongoSaver`` (``aprune`` with ``delete`` is ``adelete_thread``)."""

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
            self._catch_up.forget(thread_id)
            await self._mark_stale(thread_id)
