"""load_context: who asks about which business, the business config, and a clean slate for this turn."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import Overwrite

from bizsql.errors import TenantDenied
from bizsql.graph.context import Context
from bizsql.graph.state import TURN_DEFAULTS, State
from bizsql.nodes.answers import answer_message
from bizsql.nodes.conversation import latest_question
from bizsql.nodes.scope import begin

EMPTY_QUESTION = "Please type a question about your business's data."


REDUCED = ("usage", "steps")
"""Turn fields with a reducer: their reset is an ``Overwrite``, else it would add to the last turn's."""


def turn_resets(state: State) -> State:
    """The turn fields to reset: those whose value differs from a new turn's (all, on a thread's first
    turn). Each field written is one more checkpoint write, so unchanged ones are left as they are."""
    resets: dict[str, Any] = {}
    for key, default in TURN_DEFAULTS.items():
        if key in state and state[key] == default:  # type: ignore[literal-required]
            continue
        resets[key] = Overwrite(default) if key in REDUCED else default
    return resets  # type: ignore[return-value]


async def load_context(
    state: State,
    runtime: Runtime[Context],
) -> State:
    """Check access (the business, and a thread's owner), load the business config, reset turn fields.

    The conversation itself (the last messages) is already in ``state["messages"]``, restored by the
    checkpointer; nodes take the last N of it from settings when they build prompts.
    """
    scope = await begin(runtime)
    identity = scope.ctx.identity
    if scope.ctx.business_id and not identity.may_access(scope.ctx.business_id):
        raise TenantDenied(f"{identity.username} may not query business {scope.ctx.business_id!r}")
    bound = state.get("business_id")
    if bound and bound != scope.ctx.business_id:
        raise TenantDenied(f"this conversation belongs to business {bound!r}")
    owner = state.get("user")
    if owner and owner != identity.username and not identity.is_admin:
        raise TenantDenied("this conversation belongs to another user")
    update: State = {
        **turn_resets(state),
        "business_id": scope.ctx.business_id,
        "user": owner or identity.username,
        "question": latest_question(state),
    }
    if not update["question"]:
        update |= {
            "intent": "clarify",
            "answer": EMPTY_QUESTION,
            "messages": [answer_message(EMPTY_QUESTION, intent="clarify")],
        }
    return update
