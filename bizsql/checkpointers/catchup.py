"""What this process wrote to MongoDB alone while Redis was down, kept so Redis can be brought up to date.

A thread written while Redis could not be is stale in Redis, and the heal drops Redis's copy once Redis
answers. If MongoDB fails straight after, the thread would then be nowhere. So for each such thread the
saver keeps, per namespace, the latest checkpoint with every blob it references and the writes recorded for
it (and for a newer checkpoint whose ``put`` has not landed yet). When Redis answers, the heal first
replaces Redis's copy of the thread with this one (``plans.catch_up_commands``). Only this process holds
it: after a restart the heal drops the thread as before.
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import structlog

from bizsql.checkpointers.base import Document, PutDocs, Target

log = structlog.get_logger(__name__)

CATCH_UP_THREADS = 500
"""At most this many threads are held, about what one process serves during a Redis outage. The least
recently written is dropped first (with a warning) and healed as before: Redis's copy is dropped."""
CATCH_UP_NAMESPACES = 8
"""At most this many namespaces (the graph's own and its subgraphs') per thread, the oldest dropped first;
Redis then misses a dropped one, so it is read from MongoDB."""


@dataclass
class HeldNamespace:
    """One namespace of a thread as Redis should hold it (blobs and writes by their ``_id``)."""

    checkpoint: Document | None = None
    blobs: dict[str, Document] = field(default_factory=dict)
    writes: dict[str, Document] = field(default_factory=dict)

    def copy(self) -> HeldNamespace:
        return HeldNamespace(self.checkpoint, dict(self.blobs), dict(self.writes))


@dataclass
class _Entry:
    version: int
    namespaces: OrderedDict[str, HeldNamespace] = field(default_factory=OrderedDict)


@dataclass(frozen=True)
class HeldThread:
    """A snapshot of one held thread; ``version`` tells whether it changed since."""

    thread_id: str
    version: int
    namespaces: Mapping[str, HeldNamespace]


BlobsFor = Callable[[Mapping[str, "Document"]], dict[str, "Document"]]
"""Every blob a checkpoint references, given the blobs already held for its namespace."""


class CatchUp:
    """A bounded LRU of held threads, safe to use from several threads (the saver itself uses one loop)."""

    def __init__(self, limit: int = CATCH_UP_THREADS) -> None:
        self.limit = limit
        self._threads: OrderedDict[str, _Entry] = OrderedDict()
        self._versions = itertools.count(1)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._threads)

    def checkpoint(self, docs: PutDocs, blobs: BlobsFor) -> None:
        """A ``put`` MongoDB alone took: its namespace's newest checkpoint, unless a newer one is held."""
        target = docs.target
        assert target.checkpoint_id is not None
        with self._lock:
            spaces = self._touch(target.thread_id)
            held = spaces.get(target.checkpoint_ns) or HeldNamespace()
            if held.checkpoint is not None and held.checkpoint["checkpoint_id"] > target.checkpoint_id:
                return
            writes = {k: w for k, w in held.writes.items() if w["checkpoint_id"] >= target.checkpoint_id}
            spaces[target.checkpoint_ns] = HeldNamespace(docs.checkpoint, blobs(held.blobs), writes)
            spaces.move_to_end(target.checkpoint_ns)
            while len(spaces) > CATCH_UP_NAMESPACES:
                spaces.popitem(last=False)
            self._trim()

    def writes(self, target: Target, docs: Sequence[Document]) -> None:
        """A ``put_writes`` MongoDB alone took (kept as MongoDB keeps them: the first regular write wins)."""
        assert target.checkpoint_id is not None
        with self._lock:
            spaces = self._touch(target.thread_id)
            held = spaces.setdefault(target.checkpoint_ns, HeldNamespace())
            if held.checkpoint is not None and held.checkpoint["checkpoint_id"] > target.checkpoint_id:
                return
            for doc in docs:
                if doc["idx"] < 0:
                    held.writes[doc["_id"]] = doc
                else:
                    held.writes.setdefault(doc["_id"], doc)
            self._trim()

    def forget(self, thread_id: str) -> None:
        """The thread changed in MongoDB in a way not held here (deleted, pruned): the heal drops it."""
        with self._lock:
            self._threads.pop(thread_id, None)

    def due(self) -> list[HeldThread]:
        """Every held thread, oldest first, to be written into Redis."""
        with self._lock:
            return [
                HeldThread(thread_id, entry.version, {ns: h.copy() for ns, h in entry.namespaces.items()})
                for thread_id, entry in self._threads.items()
            ]

    def done(self, held: HeldThread) -> bool:
        """Redis took ``held``: forget the thread unless it changed meanwhile (then it is due again)."""
        with self._lock:
            entry = self._threads.get(held.thread_id)
            if entry is None or entry.version != held.version:
                return False
            del self._threads[held.thread_id]
            return True

    def _touch(self, thread_id: str) -> OrderedDict[str, HeldNamespace]:
        entry = self._threads.get(thread_id)
        if entry is None:
            entry = self._threads[thread_id] = _Entry(next(self._versions))
        else:
            entry.version = next(self._versions)
            self._threads.move_to_end(thread_id)
        return entry.namespaces

    def _trim(self) -> None:
        while len(self._threads) > self.limit:
            thread_id, _ = self._threads.popitem(last=False)
            log.warning(
                "too many conversations written while Redis was down; the oldest is no longer held for it",
                thread_id=thread_id,
                limit=self.limit,
            )
