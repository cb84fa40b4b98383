"""classify: database, general or clarify, and the question rewritten to stand alone.

The latest message comes first in the prompt and only the last few messages follow, so an unrelated new
question is judged on its own and not merged with the earlier ones. A first message needs no rewrite and
is kept word for word.
"""

from __future__ import annotations

from typing import Literal

from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field

from bizsql.errors import LlmUnavailable, RateLimited
from bizsql.graph.context import Context
from bizsql.graph.state import State
from bizsql.llm import NO_LLM_MESSAGE
from bizsql.nodes.answers import answer_message, llm_failure, turn_error, unavailable_answer
from bizsql.nodes.conversation import last_messages, transcript
from bizsql.nodes.scope import RunScope, begin
from bizsql.prompts import classify as prompt

NO_BUSINESS = "Which business should I look at? Choose one, then ask your question again."
DEFAULT_CLARIFY = "Could you say a bit more precisely what you would like to know?"


class Classification(BaseModel):
    """How to handle the user's latest message."""

    intent: Literal["database", "general", "clarify"]
    standalone_question: str = Field(
        default="", description="With earlier turns: the latest message, standing alone."
    )
    clarifying_question: str = Field(default="", description="For clarify: one short question back.")
    needs_plan: bool = Field(
        default=False,
        description="True only if one SQL query cannot answer it (a later query needs an earlier one's "
        "rows).",
    )


def table_names(scope: RunScope) -> str:
    """Known table names, from the index files only: classifying never touches the database."""
    if scope.business is None:
        return "(no business selected)"
    names = scope.deps.schema_index.known_tables(scope.business.business_id)
    return ", ".join(names) or "(not indexed yet)"


async def classify(
    state: State,
    runtime: Runtime[Context],
) -> State:
    scope = await begin(runtime)
    llm = scope.deps.llm
    if llm is None:
        answer = unavailable_answer(scope, NO_LLM_MESSAGE)
        return {"intent": "unavailable", "answer": answer,
                "error": turn_error(LlmUnavailable(NO_LLM_MESSAGE)),
                "messages": [answer_message(answer, intent="unavailable")]}  # fmt: skip
    business = scope.business
    history = last_messages(state.get("messages", []), scope.deps.settings.classify_messages)
    asked = state.get("question", "")
    system = prompt.SYSTEM.format(
        business_name=business.name if business else "(none)",
        business_description=business.description if business else "no business selected",
        table_list=table_names(scope),
    )
    messages = [
        SystemMessage(system + prompt.REWRITE_RULES if history else system),
        HumanMessage(
            prompt.HUMAN_WITH_HISTORY.format(question=asked, history=transcript(history))
            if history
            else prompt.HUMAN.format(question=asked)
        ),
    ]
    try:
        result, usage = await llm.structured(Classification, messages, business_id=scope.business_id)
    except (LlmUnavailable, RateLimited) as exc:
        return llm_failure(scope, exc)
    update: State = {"intent": result.intent, "usage": usage.as_metadata()}
    question = (result.standalone_question.strip() if history else "") or asked
    if result.intent == "database" and business is None:
        update |= {"intent": "clarify", "answer": NO_BUSINESS}
    elif result.intent == "clarify":
        update["answer"] = result.clarifying_question.strip() or DEFAULT_CLARIFY
    else:
        update["question"] = question
        update["needs_plan"] = result.intent == "database" and result.needs_plan
    if "answer" in update:
        update["messages"] = [answer_message(update["answer"], intent=update["intent"])]
    return update
