"""answer_general: a direct LLM answer for messages that need no data (the database is never touched)."""

from __future__ import annotations

from typing import Optional

from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from bizsql.errors import LlmUnavailable, RateLimited
from bizsql.graph.context import Context
from bizsql.graph.state import State
from bizsql.llm import NO_LLM_MESSAGE
from bizsql.nodes._common import (
    add_usage,
    answer_message,
    begin,
    budget_answer,
    last_messages,
    transcript,
    turn_error,
)
from bizsql.prompts import answer as prompt


async def answer_general(
    state: State,
    runtime: Runtime[Context],
    config: Optional[RunnableConfig] = None,  # noqa: UP045 (langgraph injects only this spelling)
) -> State:
    turn = await begin(runtime, config)
    business = turn.business
    examples = [q.question for q in (business.verified_queries if business else [])][:3]
    if turn.deps.llm is None:
        answer = NO_LLM_MESSAGE
        return {"answer": answer, "messages": [answer_message(answer, intent="general")]}
    history = last_messages(state.get("messages", []), turn.deps.settings.context_messages)
    messages = [
        SystemMessage(
            prompt.GENERAL_SYSTEM.format(
                business_name=business.name if business else "bizsql",
                business_description=business.description if business else "no business selected",
                example_questions="\n".join(f"- {q}" for q in examples) or "- (none yet)",
            )
        ),
        HumanMessage(f"Conversation so far:\n{transcript(history)}\n\nMessage: {state.get('question', '')}"),
    ]
    try:
        answer, usage = await turn.deps.llm.text(messages, business_id=turn.business_id)
    except LlmUnavailable as exc:
        answer = f"I cannot answer that right now: {exc.detail}."
        return {"answer": answer, "error": turn_error(exc),
                "messages": [answer_message(answer, intent="general")]}  # fmt: skip
    except RateLimited as exc:
        answer = budget_answer(turn, exc)
        return {"intent": "unavailable", "answer": answer, "error": turn_error(exc),
                "messages": [answer_message(answer, intent="unavailable", error=exc.code)]}  # fmt: skip
    return {
        "answer": answer,
        "usage": add_usage(state, usage),
        "messages": [answer_message(answer, intent="general")],
    }
