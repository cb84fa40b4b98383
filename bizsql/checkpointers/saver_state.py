"""The saver's state, shared by its read, write, maintenance and recovery parts: the key layout, the
TTL, each store's health, what is known of the queue, and what is held for Redis to catch up on."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence

from langgraph.checkpoint.base import BaseCheckpointSaver, Checkpoint
from langgraph.checkpoint.serde.base import SerializerProtocol

from bizsql.checkpointers.base import Document, Keys, PutDocs, referenced_blobs
from bizsql.checkpointers.catchup import CatchUp, HeldThread
from bizsql.checkpointers.faults import StoreHealth
from bizsql.errors import MemoryUnavailable


class BaseRedisMongoSaver(BaseCheckpointSaver[str]):
    """The saver's state: the key layout, TTL, each store's health, and what is known of the queue."""

    def __init__(
        self,
        *,
        ttl_seconds: int,
        retry_seconds: float,
        key_prefix: str,
        serde: SerializerProtocol | None,
    ) -> None:
        super().__init__(serde=serde)
        if ttl_seconds < 1:
            raise ValueError("ttl_seconds must be at least 1")
        self.ttl = ttl_seconds
        self.keys = Keys(key_prefix)
        self.redis_health = StoreHealth("redis", retry_seconds)
        self.mongo_health = StoreHealth("mongo", retry_seconds)
        self.redis_health.pair_with(self.mongo_health)
        self._pending = "unknown"
        """Whether Redis holds writes MongoDB lacks: "unknown" (start), "empty" or "nonempty"."""
        self._heal_due = True
        """Check (once Redis answers) for threads that were written while Redis could not be."""
        self._stale_local: set[str] = set()
        self._mark = uuid.uuid4().hex
        """Signs this process's stale marks in MongoDB. Each write MongoDB alone takes marks its thread again,
        so a mark names the process that last wrote the thread while Redis could not be."""
        self._catch_up = CatchUp()
        """Threads MongoDB alone took while Redis was down, for the heal to write into Redis."""
        self._caught_up: set[str] = set()
        """Threads the heal wrote into Redis since this process last marked them: this process's own mark
        must not drop them (another's, or one left before a restart, still does)."""

    def get_next_version(self, current: str | None, channel: None) -> str:
        """Zero-padded, so versions sort as strings (as langgraph's postgres saver does)."""
        if current is None:
            current_v = 0
        elif isinstance(current, int):
            current_v = current
        else:
            current_v = int(current.split(".")[0])
        return f"{current_v + 1:032}.{random.random():016}"

    def _unavailable(self, op: str) -> MemoryUnavailable:
        if self.mongo_health.is_down and not self.redis_health.is_down:
            why = "MongoDB is down and Redis does not hold this conversation"
        elif self.redis_health.is_down and self._pending == "nonempty":
            why = "Redis is down and holds writes MongoDB has not received yet"
        else:
            why = "neither Redis nor MongoDB answers"
        return MemoryUnavailable(f"conversation memory unavailable ({op}): {why}")

    def _note_queue(self, length: int) -> None:
        self._pending = "nonempty" if length > 0 else "empty"

    def _redis_failed(self, exc: BaseException, op: str) -> None:
        self.redis_health.failed(exc, op)
        self._heal_due = True

    def _hold_put(self, docs: PutDocs, checkpoint: Checkpoint) -> None:
        """Keep a checkpoint MongoDB alone took, with all its blobs, for Redis (see ``catchup``)."""
        self._catch_up.checkpoint(docs, lambda held: referenced_blobs(self.serde, docs, checkpoint, held))

    def _caught_up_with(self, held: HeldThread) -> None:
        """Redis holds ``held`` now: the thread is no longer stale here, unless it was written meanwhile."""
        if self._catch_up.done(held):
            self._stale_local.discard(held.thread_id)
            self._caught_up.add(held.thread_id)

    def _stale_by_marks(self, markers: Sequence[Document]) -> set[str]:
        """Threads MongoDB's stale marks say to drop from Redis: all but those this process marked last and
        has caught up since."""
        return {m["_id"] for m in markers if m.get("mark") != self._mark or m["_id"] not in self._caught_up}

    def _marks_cleared(self, markers: Sequence[Document], *, complete: bool) -> None:
        self._caught_up.difference_update(m["_id"] for m in markers)
        if complete:
            self._caught_up.clear()
