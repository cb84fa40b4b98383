"""propose_write and await_approval: a generated write runs only after a person has seen its dry run.

``propose_write`` runs the write in a transaction that is rolled back (its row count and a sample of the
changed rows). ``await_approval`` pauses the turn with ``interrupt()`` until the asker or an admin
decides; on resume it commits the write if it still changes the same rows, and otherwise goes back to
``propose_write`` for a fresh dry run and a new approval id. A rejection or an expiry changes nothing and
is audited. Nothing before ``interrupt()`` has an effect, as LangGraph runs the node again on resume.
"""

from __future__ import annotations

import time
import uuid

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from bizsql.auth.identity import Identity
from bizsql.errors import BizsqlError, WriteChanged
from bizsql.graph.approval import (
    PENDING_KIND,
    ApprovalRecord,
    Decision,
    PendingWrite,
    asker_of,
    expired,
    may_decide,
)
from bizsql.graph.context import Context
from bizsql.graph.state import State
from bizsql.nodes.answers import turn_error
from bizsql.nodes.scope import RunScope, begin


async def propose_write(
    state: State,
    runtime: Runtime[Context],
) -> State:
    scope = await begin(runtime)
    assert scope.business is not None
    before = state.get("pending_write")
    asker = asker_of(before) if before else scope.ctx.identity  # asked again: still the asker's write
    sql = state.get("sql", "")
    try:
        result = await scope.deps.executor.dry_run(sql, business=scope.business, identity=asker)
    except BizsqlError as exc:
        return {"error": turn_error(exc), "result": None, "pending_write": None}
    record = state.get("approval")
    pending: PendingWrite = {
        "kind": PENDING_KIND,
        "approval_id": uuid.uuid4().hex,
        "sql": sql,
        "business_id": scope.business_id,
        "asked_by": asker.username,
        "asked_role": asker.role,
        "home_business": asker.business_id,
        "rows_affected": result.rows_affected or 0,
        "columns": result.columns,
        "rows": result.rows,
        "expires_at": time.time() + scope.deps.settings.approval_ttl_seconds,
        "changed": f"Asked again: {record['detail']}." if record and record["status"] == "stale" else "",
    }
    return {"pending_write": pending, "approval": None, "error": None}


async def await_approval(
    state: State,
    runtime: Runtime[Context],
) -> State:
    pending = state.get("pending_write")
    assert pending is not None
    scope = await begin(runtime)
    decider = scope.ctx.identity
    decision: Decision = interrupt(pending)
    while not _valid(decision, pending, decider):  # a resume the API would have refused: ask again
        decision = interrupt(pending)
    if decision["decision"] == "expired" or expired(pending, time.time()):
        return await _never_ran(scope, pending, "expired", None)
    if decision["decision"] == "reject":
        return await _never_ran(scope, pending, "rejected", decider.username)
    return await _run_approved(scope, pending, decider.username)


def _valid(decision: Decision, pending: PendingWrite, decider: Identity) -> bool:
    if not isinstance(decision, dict) or decision.get("approval_id") != pending["approval_id"]:
        return False
    choice = decision.get("decision")
    return choice == "expired" or (choice in ("approve", "reject") and may_decide(decider, pending))


async def _run_approved(scope: RunScope, pending: PendingWrite, approver: str) -> State:
    assert scope.business is not None
    try:
        result = await scope.deps.executor.run_approved(
            pending["sql"],
            business=scope.business,
            identity=asker_of(pending),
            expected_rows=pending["rows_affected"],
            approved_by=approver,
        )
    except WriteChanged as exc:  # back to propose_write: a fresh dry run and a new approval id
        return {"approval": _record(pending, "stale", approver, exc.detail, rows=exc.actual)}
    except BizsqlError as exc:
        return {"error": turn_error(exc), "result": None,
                "approval": _record(pending, "approved", approver, exc.detail)}  # fmt: skip
    return {
        "result": result.model_dump(),
        "error": None,
        "approval": _record(pending, "approved", approver, f"approved by {approver}"),
    }


async def _never_ran(scope: RunScope, pending: PendingWrite, status: str, decider: str | None) -> State:
    """A rejected or expired write: audited, and the turn ends with an answer saying nothing changed."""
    assert scope.business is not None
    if status == "rejected":
        detail, code = f"{decider} rejected the write; nothing was changed", "write_rejected"
    else:
        detail, code = "nobody approved the write in time; nothing was changed", "approval_expired"
    await scope.deps.executor.record_decision(
        pending["sql"],
        business=scope.business,
        identity=asker_of(pending),
        outcome="rejected" if status == "rejected" else "expired",
        rows=pending["rows_affected"],
        rejected_by=decider,
    )
    return {
        "error": {"code": code, "detail": detail},
        "answer": f"The write was not run: {detail}.",
        "result": None,
        "approval": _record(pending, "rejected" if status == "rejected" else "expired", decider, detail),
    }


def _record(
    pending: PendingWrite, status: str, decider: str | None, detail: str, *, rows: int | None = None
) -> ApprovalRecord:
    return {
        "approval_id": pending["approval_id"],
        "status": status,  # type: ignore[typeddict-item]
        "decided_by": decider,
        "rows_affected": pending["rows_affected"] if rows is None else rows,
        "detail": detail,
    }
