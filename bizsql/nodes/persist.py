"""persist: the readable conversation document (the checkpointer already holds the state itself).

The document is a projection of the checkpoint, so a failure to write it is logged and the answer still
goes out; it can be rebuilt from the checkpoint later.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Optional

import structlog
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableConfig
from langgraph.config import get_config
from langgraph.runtime import Runtime
from pymongo.errors import PyMongoError

from bizsql.errors import BizsqlError
from bizsql.graph.context import Context
from bizsql.graph.state import State
from bizsql.nodes._common import META_KEY, begin, latest_question

log = structlog.get_logger(__name__)


async def persist(
    state: State,
    runtime: Runtime[Context],
    config: Optional[RunnableConfig] = None,  # noqa: UP045 (langgraph injects only this spelling)
) -> State:
    turn = await begin(runtime, config)
    store = turn.deps.conversations
    thread_id = ((config or get_config()).get("configurable") or {}).get("thread_id")
    if store is None or not thread_id:
        return {}
    result = state.get("result")
    answer = next((m for m in reversed(state.get("messages", [])) if isinstance(m, AIMessage)), None)
    meta = (answer.additional_kwargs.get(META_KEY) or {}) if answer else {}
    try:
        await store.append_turn(
            str(thread_id),
            identity=turn.ctx.identity,
            business_id=turn.business_id or None,
            user_message=latest_question(state),
            assistant_message=state.get("answer", ""),
            intent=state.get("intent", ""),
            sql=state.get("sql") or None,
            row_count=result["row_count"] if result else None,
            at=datetime.fromisoformat(meta["at"]) if "at" in meta else datetime.now(UTC),
        )
    except (BizsqlError, PyMongoError, OSError) as exc:
        log.warning("conversation document not written", thread_id=thread_id, error=str(exc))
    return {}
