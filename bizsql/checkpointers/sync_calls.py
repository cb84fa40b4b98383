"""The sync ``BaseCheckpointSaver`` methods, written once as calls of the async ones on an event loop.

``AsyncRedisMongoSaver`` answers them on its own loop, for callers in other threads; ``RedisMongoSaver``
on the loop it keeps for them. Each class says how in ``_call``; the async code is the only body.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import Any, TypeVar

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import ChannelVersions, Checkpoint, CheckpointMetadata, CheckpointTuple

from bizsql.checkpointers.body import SaverBody

T = TypeVar("T")

AsyncCall = Callable[[SaverBody], Awaitable[T]]
"""One call of the async saver's API, such as ``lambda saver: saver.aget_tuple(config)``."""


async def collect(items: AsyncIterator[T]) -> list[T]:
    """An async iterator's items, gathered on its own loop (an async generator cannot cross loops)."""
    return [item async for item in items]


class SyncCalls:
    """Mixed into a saver ahead of ``BaseCheckpointSaver``, whose sync methods only raise."""

    def _call(self, run: AsyncCall[T]) -> T:
        """Run ``run`` on the async saver's loop from this (another) thread and return its result."""
        raise NotImplementedError

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self._call(lambda saver: saver.aget_tuple(config))

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """Lazy as a generator: nothing is read before the first item is asked for."""
        yield from self._call(
            lambda saver: collect(saver.alist(config, filter=filter, before=before, limit=limit))
        )

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return self._call(lambda saver: saver.aput(config, checkpoint, metadata, new_versions))

    def put_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        self._call(lambda saver: saver.aput_writes(config, writes, task_id, task_path))

    def delete_thread(self, thread_id: str) -> None:
        self._call(lambda saver: saver.adelete_thread(thread_id))

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        self._call(lambda saver: saver.adelete_for_runs(run_ids))

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        self._call(lambda saver: saver.acopy_thread(source_thread_id, target_thread_id))

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """``keep_latest`` keeps each namespace's newest checkpoint; ``delete`` removes the threads."""
        self._call(lambda saver: saver.aprune(thread_ids, strategy=strategy))

    def flush_pending(self, limit: int | None = None) -> int:
        """Replay the writes held in Redis into MongoDB, oldest first; returns how many landed."""
        return self._call(lambda saver: saver.aflush_pending(limit))
