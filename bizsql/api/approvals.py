"""POST /chat/approve's checks: the thread's pending write, who may decide it, and whether it still may be.

The pending write is read from the thread's checkpoint (``graph.aget_state``), so any process finds it.
A Redis key taken with ``SET NX`` lets exactly one request decide an approval id, however many processes
receive the same click.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from bizsql.api.schemas import ApproveRequest
from bizsql.api.services import Services
from bizsql.auth.identity import Identity
from bizsql.errors import ApprovalConflict, ApprovalExpired, NotFound, TenantDenied
from bizsql.graph.approval import Decision, PendingWrite, expired, may_decide, pending_in
from bizsql.graph.run import ChatResult, Timing, Turn, resume_turn

LOCK_PREFIX = "bizsql:approval"
LOCK_SECONDS = 120
"""How long one decision holds its approval id: longer than any write may run."""


async def pending_write(services: Services, identity: Identity, body: ApproveRequest) -> PendingWrite:
    """The write waiting in the thread, once the caller is known to be allowed to decide it."""
    snapshot = await services.graph.aget_state({"configurable": {"thread_id": body.thread_id}})
    values = snapshot.values or {}
    if not values:
        raise NotFound(f"no conversation {body.thread_id}")
    pending = pending_in(snapshot.interrupts)
    if pending is None:
        owner, business = str(values.get("user") or ""), str(values.get("business_id") or "")
        if owner != identity.username and not (identity.role == "admin" and identity.may_access(business)):
            raise TenantDenied("this conversation belongs to another user")
        raise ApprovalConflict("nothing in this conversation waits for an approval")
    if not may_decide(identity, pending):
        if not identity.may_access(pending["business_id"]):  # nothing about another business's people
            raise TenantDenied("you may not decide writes of this conversation")
        raise TenantDenied(f"only {pending['asked_by']}, who asked, or an admin of the business may decide")
    if body.approval_id != pending["approval_id"]:
        raise ApprovalConflict(
            f"approval {body.approval_id} is not the one waiting in this conversation; it was decided, "
            "or the write was checked again and has a new approval id"
        )
    return pending


async def decide(
    services: Services, identity: Identity, body: ApproveRequest, timing: Timing | None = None
) -> ChatResult:
    """Resume the paused turn with the caller's decision; an expired approval closes the turn and is 409."""
    pending = await pending_write(services, identity, body)
    key = f"{LOCK_PREFIX}:{pending['approval_id']}"
    if not await services.redis.set(key, identity.username, nx=True, ex=LOCK_SECONDS):
        raise ApprovalConflict(f"approval {body.approval_id} is being decided by another request")
    turn = Turn(identity, pending["business_id"], body.thread_id, "")
    if expired(pending, time.time()):
        gone: Decision = {"approval_id": pending["approval_id"], "decision": "expired"}
        await resume_turn(services.graph, services.deps, turn, gone, timing)
        at = datetime.fromtimestamp(pending["expires_at"], UTC).isoformat(timespec="seconds")
        raise ApprovalExpired(
            f"approval {body.approval_id} expired at {at}; nothing was changed. Ask again for a fresh dry run"
        )
    decision: Decision = {"approval_id": pending["approval_id"], "decision": body.decision}
    return await resume_turn(services.graph, services.deps, turn, decision, timing)
