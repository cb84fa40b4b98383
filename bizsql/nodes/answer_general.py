"""answer_general: a direct LLM answer for messages that need no data (the database is never touched)."""

from __future__ import annotations

from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.runtime import Runtime

from bizsql.errors import LlmUnavailable, RateLimited
from bizsql.graph.context import Context
from bizsql.graph.state import State
from bizsql.llm import NO_LLM_MESSAGE
from bizsql.nodes.answers import answer_message, llm_failure
from bizsql.nodes.conversation import last_messages, transcript
from bizsql.nodes.scope import begin
from bizsql.prompts import answer as prompt


async def answer_general(
    state: State,
    runtime: Runtime[Context],
) -> State:
    scope = await begin(runtime)
    business = scope.business
    examples = [q.question for q in (business.verified_queries if business else [])][:3]
    if scope.deps.llm is None:
        answer = NO_LLM_MESSAGE
        return {"answer": answer, "messages": [answer_message(answer, intent="general")]}
    history = last_messages(state.get("messages", []), scope.deps.settings.context_messages)
    system = prompt.GENERAL_SYSTEM.format(
        business_name=business.name if business else "bizsql",
        business_description=business.description if business else "no business selected",
        example_questions="\n".join(f"- {q}" for q in examples) or "- (none yet)",
    )
    question = state.get("question", "")
    messages = [
        SystemMessage(system + prompt.GENERAL_RULE if history else system),
        HumanMessage(
            prompt.GENERAL_HUMAN_WITH_HISTORY.format(history=transcript(history), question=question)
            if history
            else prompt.GENERAL_HUMAN.format(question=question)
        ),
    ]
    try:
        answer, usage = await scope.deps.llm.text(messages, business_id=scope.business_id)
    except (LlmUnavailable, RateLimited) as exc:
        return llm_failure(scope, exc, intent="general", examples=False)
    return {
        "answer": answer,
        "usage": usage.as_metadata(),
        "messages": [answer_message(answer, intent="general")],
    }
