"""How a write ends, and who may write at all: the executor's rules for the end of a write's transaction.

A write commits as written (``bizsql sql run``, MCP, a business that skips approvals), rolls back as a dry
run (a generated write, shown to a person first), or commits as approved only when it changes the rows
its dry run counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import AsyncCursor

from bizsql.auth.identity import Identity
from bizsql.errors import WriteChanged
from bizsql.sql.audit import Attempt
from bizsql.sql.guard import Verdict
from bizsql.stores.business import BusinessConfig

SAMPLE_ROWS = 10
"""Rows of the change a dry run shows."""


@dataclass(frozen=True)
class WritePlan:
    """How a write ends: committed as written (the default), rolled back (a dry run), or committed only
    when it changes ``expected_rows`` rows (an approved write)."""

    dry_run: bool = False
    expected_rows: int | None = None
    approved_by: str | None = None


AS_WRITTEN = WritePlan()


async def end_write(
    cur: AsyncCursor[Any], verdict: Verdict, attempt: Attempt, plan: WritePlan, affected: int
) -> None:
    """Inside the write's transaction: roll a dry run back, refuse an approved write whose rows
    changed, or record the commit (the transaction commits after this)."""
    if plan.dry_run:
        await attempt.record(verdict, "dry_run", rows=affected, required=True)
        await cur.execute("ROLLBACK")
        return
    if plan.expected_rows is not None and affected != plan.expected_rows:
        await attempt.record(
            verdict, "rolled_back", rows=affected, error="the row count changed since the dry run"
        )
        raise WriteChanged(plan.expected_rows, affected)
    attempt.commit_entry = await attempt.record(verdict, "committed", rows=affected, required=True)


def write_refusal(business: BusinessConfig, identity: Identity) -> str | None:
    """Why this user may not write to this business, or None when they may."""
    if not business.allow_writes:
        return f"writes are disabled for {business.name}"
    if not identity.may_write:
        return f"{identity.username} is an {identity.role}; only editors and admins may write"
    if not business.database.writer_role:
        return f"{business.name} has no writer role configured"
    return None
