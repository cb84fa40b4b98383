"""generate_sql: one SQL statement from the LLM (structured output), or a fix after a database error."""

from __future__ import annotations

import re
from typing import Optional

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field

from bizsql.errors import LlmUnavailable, RateLimited
from bizsql.graph.context import Context
from bizsql.graph.state import State
from bizsql.nodes._common import Turn, add_usage, begin, budget_answer, last_messages, transcript, turn_error
from bizsql.prompts import sql as prompt

_LINE_BREAK = re.compile(r"[ \t]*\n\s*")


class SqlDraft(BaseModel):
    """A PostgreSQL query that answers the question."""

    sql: str = Field(description="One PostgreSQL statement.")
    confidence: float = Field(description="0 to 1: how sure it answers the question exactly.")
    explanation: str = Field(description="One line: what it returns.")


def one_line(sql: str) -> str:
    """A verified query on one line: its indentation is tokens the model reads for nothing."""
    return _LINE_BREAK.sub(" ", sql.strip())


async def sql_messages(turn: Turn, state: State) -> list[BaseMessage]:
    """The generation prompt: rules, the glossary terms that matter, instructions, the retrieved schema,
    close verified examples, and the conversation when there is one."""
    business = turn.business
    assert business is not None
    settings = turn.deps.settings
    question = state.get("question", "")
    examples = [
        e
        for e in await turn.deps.schema_index.verified_matches(business, question, settings.verified_examples)
        if e.score >= settings.verified_example_min_similarity
    ]
    may_write = business.allow_writes and turn.ctx.identity.may_write
    terms = state.get("glossary_terms")
    glossary = {k: v for k, v in business.glossary.items() if terms is None or k in terms}
    sections = [
        prompt.section(prompt.GLOSSARY, "\n".join(f"- {k}: {v}" for k, v in glossary.items())),
        prompt.section(prompt.INSTRUCTIONS, business.instructions or ""),
        prompt.section(prompt.SCHEMA, state.get("schema_context", "")),
        prompt.section(
            prompt.EXAMPLES, "\n\n".join(f"Q: {e.question}\nSQL: {one_line(e.sql)}" for e in examples)
        ),
    ]
    system = prompt.SYSTEM.format(
        business_name=business.name,
        statement_kind="SELECT (or INSERT/UPDATE/DELETE when the user asks to change data)"
        if may_write
        else "read-only SELECT",
        row_cap=business.row_cap,
        sections="".join(sections),
    )
    history = last_messages(state.get("messages", []), settings.context_messages)
    human = (
        prompt.HUMAN_WITH_HISTORY.format(history=transcript(history), question=question)
        if history
        else prompt.HUMAN.format(question=question)
    )
    messages: list[BaseMessage] = [SystemMessage(system), HumanMessage(human)]
    error = state.get("error")
    if error and state.get("sql"):
        messages.append(HumanMessage(prompt.RETRY.format(sql=state["sql"], error=error["detail"])))
    return messages


async def generate_sql(
    state: State,
    runtime: Runtime[Context],
    config: Optional[RunnableConfig] = None,  # noqa: UP045 (langgraph injects only this spelling)
) -> State:
    turn = await begin(runtime, config)
    assert turn.deps.llm is not None, "classify routes here only with an LLM"
    messages = await sql_messages(turn, state)
    try:
        draft, usage = await turn.deps.llm.structured(SqlDraft, messages, business_id=turn.business_id)
    except LlmUnavailable as exc:
        return {"error": turn_error(exc), "sql": ""}
    except RateLimited as exc:  # respond keeps this answer and writes it to the thread
        answer = budget_answer(turn, exc)
        return {"intent": "unavailable", "answer": answer, "error": turn_error(exc), "sql": ""}
    return {
        "sql": draft.sql.strip().rstrip(";").strip(),
        "confidence": min(max(draft.confidence, 0.0), 1.0),
        "explanation": draft.explanation.strip(),
        "source": "llm",
        "error": None,
        "usage": add_usage(state, usage),
    }
