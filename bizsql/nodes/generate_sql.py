"""generate_sql: one SQL statement from the LLM (structured output), or a fix after a database error."""

from __future__ import annotations

import re
from typing import cast

from langchain_core.messages import AnyMessage, BaseMessage, HumanMessage, SystemMessage
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field

from bizsql.errors import LlmUnavailable, RateLimited
from bizsql.graph.context import Context
from bizsql.graph.state import State, StepState
from bizsql.nodes.answers import llm_failure, turn_error
from bizsql.nodes.conversation import data_block, last_messages, transcript
from bizsql.nodes.scope import RunScope, begin
from bizsql.prompts import data
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


def schema_section(schema: str) -> str:
    """The retrieved schema as data: its comments and sample values are rows' text, not instructions."""
    return prompt.SCHEMA.format(block=data_block(data.SCHEMA, schema)) if schema.strip() else ""


async def sql_messages(scope: RunScope, state: State | StepState) -> list[BaseMessage]:
    """The generation prompt: rules, the glossary terms that matter, instructions, the retrieved schema,
    close verified examples, a plan step's earlier results, and the conversation when there is one."""
    business = scope.business
    assert business is not None
    settings = scope.deps.settings
    question = state.get("question", "")
    examples = [
        e
        for e in await scope.deps.schema_index.verified_matches(
            business, question, settings.verified_examples
        )
        if e.score >= settings.verified_example_min_similarity
    ]
    may_write = business.allow_writes and scope.ctx.identity.may_write and not state.get("read_only")
    terms = state.get("glossary_terms")
    glossary = {k: v for k, v in business.glossary.items() if terms is None or k in terms}
    sections = [
        prompt.section(prompt.GLOSSARY, "\n".join(f"- {k}: {v}" for k, v in glossary.items())),
        prompt.section(prompt.INSTRUCTIONS, business.instructions or ""),
        schema_section(state.get("schema_context", "")),
        prompt.section(
            prompt.EXAMPLES, "\n\n".join(f"Q: {e.question}\nSQL: {one_line(e.sql)}" for e in examples)
        ),
        prompt.section(prompt.EARLIER_STEPS, str(state.get("prior") or "")),  # a plan's step only
    ]
    system = prompt.SYSTEM.format(
        business_name=business.name,
        statement_kind="SELECT (or INSERT/UPDATE/DELETE when the user asks to change data)"
        if may_write
        else "read-only SELECT",
        row_cap=business.row_cap,
        data_rule=data.RULE,
        sections="".join(sections),
    )
    history = last_messages(cast(list[AnyMessage], state.get("messages") or []), settings.context_messages)
    human = (
        prompt.HUMAN_WITH_HISTORY.format(history=transcript(history), question=question)
        if history
        else prompt.HUMAN.format(question=question)
    )
    messages: list[BaseMessage] = [SystemMessage(system), HumanMessage(human)]
    error = state.get("error")
    if error and state.get("sql"):
        failure = prompt.FAILURE.format(sql=state["sql"], error=error["detail"])
        messages.append(HumanMessage(prompt.RETRY.format(failure=data_block(data.ERROR, failure))))
    return messages


async def generate_sql(
    state: State | StepState,
    runtime: Runtime[Context],
) -> State:
    scope = await begin(runtime)
    assert scope.deps.llm is not None, "classify routes here only with an LLM"
    messages = await sql_messages(scope, state)
    try:
        draft, usage = await scope.deps.llm.structured(SqlDraft, messages, business_id=scope.business_id)
    except LlmUnavailable as exc:  # respond answers from the error, with what the SQL step could not do
        return {"error": turn_error(exc), "sql": ""}
    except RateLimited as exc:  # respond keeps this answer and writes it to the thread
        return {**llm_failure(scope, exc, message=False), "sql": ""}
    return {
        "sql": draft.sql.strip().rstrip(";").strip(),
        "confidence": min(max(draft.confidence, 0.0), 1.0),
        "explanation": draft.explanation.strip(),
        "source": "llm",
        "error": None,
        "usage": usage.as_metadata(),
    }
