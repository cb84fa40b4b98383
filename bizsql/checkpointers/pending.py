"""Writes as data: what one checkpointer call asks of MongoDB, so it can wait in Redis while MongoDB is down.

Every write (put, put_writes, delete_thread) is a short list of ``MongoWrite``. Normally they are applied at
once; with MongoDB down they are queued in Redis as a ``PendingEntry`` and replayed later in the same order.
Replaying is idempotent (upserts, insert-if-absent, deletes), so an entry flushed twice does no harm.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo import DeleteMany, ReplaceOne, UpdateOne

from bizsql.checkpointers.base import Document, decode, encode

INLINE_FLUSH_LIMIT = 20
"""At most this many queued writes are flushed inside a user's call; the background flush does the rest."""
FLUSH_BATCH = 50
FLUSH_LOCK_SECONDS = 30

Request = UpdateOne | ReplaceOne | DeleteMany


@dataclass(frozen=True)
class MongoWrite:
    """Writes to one collection: insert-if-absent documents, upserted replacements, and delete filters."""

    collection: str
    insert: Sequence[Document] = ()
    replace: Sequence[Document] = ()
    delete: Sequence[Document] = ()

    def requests(self) -> list[Request]:
        ops: list[Request] = [
            UpdateOne({"_id": d["_id"]}, {"$setOnInsert": d}, upsert=True) for d in self.insert
        ]
        ops += [ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in self.replace]
        ops += [DeleteMany(f) for f in self.delete]
        return ops

    def to_doc(self) -> Document:
        return {"c": self.collection, "i": list(self.insert), "r": list(self.replace), "d": list(self.delete)}

    @classmethod
    def from_doc(cls, doc: Document) -> MongoWrite:
        return cls(doc["c"], doc.get("i", []), doc.get("r", []), doc.get("d", []))


@dataclass(frozen=True)
class PendingEntry:
    """One queued call: its MongoDB writes, and the Redis keys that get their TTL back once they landed."""

    op: str
    thread_id: str
    writes: Sequence[MongoWrite]
    expire: Sequence[str] = ()
    entry_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def encode(self) -> bytes:
        body: dict[str, Any] = {
            "id": self.entry_id,
            "op": self.op,
            "thread_id": self.thread_id,
            "writes": [w.to_doc() for w in self.writes],
            "expire": list(self.expire),
            "at": self.at,
        }
        return encode(body)

    @classmethod
    def decode(cls, raw: bytes | str) -> PendingEntry:
        body = decode(raw.encode() if isinstance(raw, str) else raw)
        return cls(
            op=body["op"],
            thread_id=body["thread_id"],
            writes=[MongoWrite.from_doc(w) for w in body["writes"]],
            expire=body.get("expire", []),
            entry_id=body["id"],
            at=body["at"],
        )
