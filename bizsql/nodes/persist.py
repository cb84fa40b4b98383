"""persist: the readable conversation document (the checkpointer already holds the state itself).

The document is a projection of the checkpoint, so a store's failure to write it is logged and the
answer still goes out; it can be rebuilt from the checkpoint later.
"""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from langchain_core.messages import AIMessage
from langgraph.config import get_config
from langgraph.runtime import Runtime

from bizsql.graph.approval import asker_of
from bizsql.graph.context import Context
from bizsql.graph.state import State
from bizsql.nodes.answers import META_KEY
from bizsql.nodes.conversation import latest_question
from bizsql.nodes.scope import begin
from bizsql.stores.conversations import STORE_ERRORS, LoggedTurn

log = structlog.get_logger(__name__)


async def persist(
    state: State,
    runtime: Runtime[Context],
) -> State:
    scope = await begin(runtime)
    store = scope.deps.conversations
    thread_id = (get_config().get("configurable") or {}).get("thread_id")
    if store is None or not thread_id:
        return {}
    result = state.get("result")
    answer = next((m for m in reversed(state.get("messages", [])) if isinstance(m, AIMessage)), None)
    meta = (answer.additional_kwargs.get(META_KEY) or {}) if answer else {}
    try:
        pending = state.get("pending_write")  # an admin's decision: the turn is still the asker's
        turn = LoggedTurn(
            identity=asker_of(pending) if pending else scope.ctx.identity,
            business_id=scope.business_id or None,
            user_message=latest_question(state),
            assistant_message=state.get("answer", ""),
            intent=state.get("intent", ""),
            sql=state.get("sql") or None,
            row_count=result["row_count"] if result else None,
            at=datetime.fromisoformat(meta["at"]) if "at" in meta else datetime.now(UTC),
            steps=meta.get("steps") or None,
        )
        await store.append_turn(str(thread_id), turn)
    except STORE_ERRORS as exc:  # MongoDB's, ours, the network's: never lose the answer for its document
        log.warning(
            "conversation document not written", thread_id=thread_id, error=f"{type(exc).__name__}: {exc}"
        )
    return {}
