"""load_context: who asks about which business, the business config, and a clean slate for this turn."""

from __future__ import annotations

from typing import Optional

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from bizsql.errors import TenantDenied
from bizsql.graph.context import Context
from bizsql.graph.state import TURN_DEFAULTS, State
from bizsql.nodes._common import answer_message, begin, latest_question

EMPTY_QUESTION = "Please type a question about your business's data."


async def load_context(
    state: State,
    runtime: Runtime[Context],
    config: Optional[RunnableConfig] = None,  # noqa: UP045 (langgraph injects only this spelling)
) -> State:
    """Check access (the business, and a thread's owner), load the business config, reset turn fields.

    The conversation itself (the last messages) is already in ``state["messages"]``, restored by the
    checkpointer; nodes take the last N of it from settings when they build prompts.
    """
    turn = await begin(runtime, config)
    identity = turn.ctx.identity
    if turn.ctx.business_id and not identity.may_access(turn.ctx.business_id):
        raise TenantDenied(f"{identity.username} may not query business {turn.ctx.business_id!r}")
    bound = state.get("business_id")
    if bound and bound != turn.ctx.business_id:
        raise TenantDenied(f"this conversation belongs to business {bound!r}")
    owner = state.get("user")
    if owner and owner != identity.username and not identity.is_admin:
        raise TenantDenied("this conversation belongs to another user")
    update: State = {
        **TURN_DEFAULTS,
        "business_id": turn.ctx.business_id,
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
