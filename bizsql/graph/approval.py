"""A generated write waiting for a person's yes: what the paused thread holds, who may decide, and how the
answer shows it.

The ``await_approval`` node pauses the turn with LangGraph's ``interrupt(PendingWrite)``; the checkpointer
keeps the pending write with the thread, so any process (or one restarted since) finds it with
``graph.aget_state`` and resumes it with ``Command(resume=Decision)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from bizsql.auth.identity import Identity

PENDING_KIND = "write_approval"
DecisionKind = Literal["approve", "reject", "expired"]
ApprovalStatus = Literal["pending", "approved", "rejected", "expired", "stale"]


class PendingWrite(TypedDict):
    """The interrupt's value: the write, its dry run, who asked, and until when it may be approved."""

    kind: str
    approval_id: str
    sql: str
    business_id: str
    asked_by: str
    asked_role: str
    home_business: str
    rows_affected: int
    columns: list[str]
    rows: list[list[Any]]
    expires_at: float
    """Seconds since the epoch (UTC)."""
    changed: str
    """Why this is asked again (the row count changed since the last dry run); empty the first time."""


class Decision(TypedDict):
    """The resume value: which approval, and what was decided (``expired``: nobody decided in time)."""

    approval_id: str
    decision: DecisionKind


class ApprovalRecord(TypedDict):
    """How a pending write ended, kept in the turn's state for the answer and the conversation."""

    approval_id: str
    status: ApprovalStatus
    decided_by: str | None
    rows_affected: int
    detail: str


class ApprovalOut(BaseModel):
    """The approval of a write in a chat answer: pending (decide it with POST /chat/approve) or decided."""

    approval_id: str
    status: ApprovalStatus
    rows_affected: int = Field(description="Rows the write changes (its dry run's count while pending).")
    asked_by: str | None = None
    decided_by: str | None = None
    expires_at: datetime | None = Field(None, description="While pending: when the approval expires.")


def pending_in(interrupts: Iterable[Any]) -> PendingWrite | None:
    """The pending write among a run's interrupts (``__interrupt__``, or a state snapshot's)."""
    for item in interrupts:
        value = getattr(item, "value", None)
        if isinstance(value, dict) and value.get("kind") == PENDING_KIND:
            return value  # type: ignore[return-value]
    return None


def may_decide(identity: Identity, pending: PendingWrite) -> bool:
    """The user who asked, or an admin of the business; either must still be allowed to write."""
    if not identity.may_write or not identity.may_access(pending["business_id"]):
        return False
    return identity.username == pending["asked_by"] or identity.role == "admin"


def asker_of(pending: PendingWrite) -> Identity:
    """The write runs as the user who asked for it (with the rights they had then), whoever approves;
    the turn is theirs in the conversation too."""
    return Identity(pending["asked_by"], pending["asked_role"], pending["home_business"])  # type: ignore[arg-type]


def expired(pending: PendingWrite, now: float) -> bool:
    return now >= pending["expires_at"]


def pending_out(pending: PendingWrite) -> ApprovalOut:
    return ApprovalOut(
        approval_id=pending["approval_id"],
        status="pending",
        rows_affected=pending["rows_affected"],
        asked_by=pending["asked_by"],
        expires_at=datetime.fromtimestamp(pending["expires_at"], UTC),
    )


def record_out(record: ApprovalRecord) -> ApprovalOut:
    return ApprovalOut(
        approval_id=record["approval_id"],
        status=record["status"],
        rows_affected=record["rows_affected"],
        decided_by=record["decided_by"],
    )


def pending_answer(pending: PendingWrite) -> str:
    """What the asker reads while the write waits."""
    rows = pending["rows_affected"]
    changed = f"{pending['changed']} " if pending["changed"] else ""
    shown = len(pending["rows"])
    sample = (
        ""
        if not shown
        else " Shown as it would be."
        if rows == 1
        else (
            " Shown as they would be." if shown == rows else f" The first {shown} are shown as they would be."
        )
    )
    return (
        f"{changed}This write would change {rows:,} row(s).{sample} Nothing has changed yet: it waits for "
        f"approval by {pending['asked_by']} or an admin (approval id {pending['approval_id']})."
    )
