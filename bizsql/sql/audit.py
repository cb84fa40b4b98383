"""Where SQL attempts are recorded: MongoDB ``audit_logs``, one document per attempt.

Every write attempt lands here (committed, refused, failed or rolled back), and so does every refused
statement, read or not (a refusal says who probed what). An allowed write is recorded *before* its
transaction commits, so a committed write without an audit document cannot happen.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, runtime_checkable

import structlog
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.collection import Collection
from pymongo.database import Database

from bizsql.auth.identity import Identity
from bizsql.errors import QueryFailed
from bizsql.sql.guard import Verdict
from bizsql.stores.business import BusinessConfig
from bizsql.stores.mongo import AUDIT_LOGS

log = structlog.get_logger(__name__)

Outcome = Literal["committed", "refused", "failed", "rolled_back", "read", "dry_run", "rejected", "expired"]


DECISION_FIELDS = ("approved_by", "rejected_by")


@dataclass
class AuditEntry:
    """One attempt: who, on which business, what SQL, what the guard said, and what happened."""

    business_id: str
    user: str
    role: str
    source: str
    sql: str
    kind: str
    verdict: dict[str, Any]
    outcome: Outcome
    rows_affected: int | None = None
    duration_ms: float | None = None
    error: str | None = None
    approved_by: str | None = None
    """Who said yes to a generated write (the asker, or an admin of the business)."""
    rejected_by: str | None = None
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def document(self) -> dict[str, Any]:
        """The entry as stored; the decision fields only on a write someone decided."""
        doc = asdict(self)
        for decision in DECISION_FIELDS:
            if doc[decision] is None:
                del doc[decision]
        return doc


@runtime_checkable
class AuditSink(Protocol):
    async def record(self, entry: AuditEntry) -> Any:
        """Store the entry; returns an id that ``update`` accepts."""

    async def update(self, entry_id: Any, **changes: Any) -> None: ...


class MongoAudit:
    """``audit_logs`` in MongoDB, through the async client or (in scripts) the sync one."""

    def __init__(self, target: Any) -> None:
        if isinstance(target, AsyncDatabase | Database):
            target = target[AUDIT_LOGS]
        if not isinstance(target, AsyncCollection | Collection):
            raise TypeError(f"MongoAudit needs a MongoDB database or collection, not {type(target).__name__}")
        self.collection: AsyncCollection[Any] | Collection[Any] = target

    async def record(self, entry: AuditEntry) -> Any:
        if isinstance(self.collection, AsyncCollection):
            result = await self.collection.insert_one(entry.document())
        else:
            result = await asyncio.to_thread(self.collection.insert_one, entry.document())
        return result.inserted_id

    async def update(self, entry_id: Any, **changes: Any) -> None:
        if isinstance(self.collection, AsyncCollection):
            await self.collection.update_one({"_id": entry_id}, {"$set": changes})
        else:
            await asyncio.to_thread(self.collection.update_one, {"_id": entry_id}, {"$set": changes})


def as_audit_sink(target: Any) -> AuditSink | None:
    """Accept a sink, a MongoDB database or collection (sync or async), or None (no audit: writes refused)."""
    if target is None:
        return None
    if isinstance(target, AsyncDatabase | Database | AsyncCollection | Collection):
        return MongoAudit(target)  # checked first: pymongo objects answer any attribute, "record" included
    if isinstance(target, AuditSink):
        return target
    raise TypeError(f"not an audit sink or a MongoDB database/collection: {type(target).__name__}")


class Attempt:
    """One call of ``run``: the audit entries it leaves, and how long it took."""

    def __init__(
        self, sink: AuditSink | None, sql: str, business: BusinessConfig, identity: Identity, source: str
    ) -> None:
        self.sink, self.sql, self.business, self.identity, self.source = sink, sql, business, identity, source
        self.started = time.perf_counter()
        self.recorded = False
        self.commit_entry: Any = None
        self.approved_by: str | None = None

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000

    async def record(
        self,
        verdict: Verdict,
        outcome: Outcome,
        *,
        rows: int | None = None,
        error: str | None = None,
        required: bool = False,
        rejected_by: str | None = None,
    ) -> Any:
        """Store one audit document; ``required`` turns a failure to store it into QueryFailed.
        An approved run's entries carry ``self.approved_by``."""
        sink = self.sink
        self.recorded = True
        if sink is None:
            if required:
                raise QueryFailed("writes need an audit log, and none is configured; nothing was changed")
            return None
        entry = AuditEntry(
            business_id=self.business.business_id,
            user=self.identity.username,
            role=self.identity.role,
            source=self.source,
            sql=self.sql,
            kind=verdict.kind,
            verdict=verdict.model_dump(),
            outcome=outcome,
            rows_affected=rows,
            duration_ms=round(self.elapsed_ms(), 3),
            error=error,
            approved_by=self.approved_by,
            rejected_by=rejected_by,
        )
        try:
            return await sink.record(entry)
        except Exception as exc:
            log.error("audit_write_failed", business=self.business.business_id, error=str(exc))
            if required:
                raise QueryFailed("the audit log is unavailable, so the write was rolled back") from exc
            return None

    async def amend(self, **changes: Any) -> None:
        """Correct the "committed" entry when COMMIT itself failed."""
        sink = self.sink
        if sink is None or self.commit_entry is None:
            return
        try:
            await sink.update(self.commit_entry, duration_ms=round(self.elapsed_ms(), 3), **changes)
        except Exception as exc:
            log.error("audit_update_failed", business=self.business.business_id, error=str(exc))
