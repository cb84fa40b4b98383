"""Generate and validate without executing: what /debug/sql shows an admin about a question.

A small graph reusing the turn graph's nodes (context, schema retrieval with the verified fast path, SQL
generation), then the SQL guard's full verdict. Nothing runs on the business database and nothing is saved.
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field

from bizsql.auth.identity import Identity
from bizsql.errors import LlmUnavailable
from bizsql.graph.clients import deps_of
from bizsql.graph.context import Context
from bizsql.graph.interfaces import Deps
from bizsql.graph.run import Turn, invoke_turn
from bizsql.graph.state import InputState, State
from bizsql.llm import NO_LLM_MESSAGE
from bizsql.nodes.generate_sql import generate_sql
from bizsql.nodes.load_context import load_context
from bizsql.nodes.retrieve_schema import retrieve_schema
from bizsql.sql.guard import check_sql
from bizsql.stores.business import BusinessConfig

DRY_RUN_THREAD = "dry-run"
"""The dry-run graph keeps no checkpoints, so its one thread id is never stored."""


class VerdictOut(BaseModel):
    allowed: bool
    kind: str
    reason: str
    tables: list[str] = Field(default_factory=list)


class DryRunResult(BaseModel):
    business_id: str
    question: str
    sql: str | None
    source: Literal["llm", "verified"] | None
    confidence: float | None
    explanation: str
    verdict: VerdictOut | None = Field(description="The SQL guard's decision; null when no SQL was made.")
    tables: list[str] = Field(description="Tables the schema retrieval chose.")
    schema_context: str = Field(description="The schema text the LLM was shown.")
    error: str | None = None


async def _generate(
    state: State,
    runtime: Runtime[Context],
) -> State:
    deps = await deps_of(runtime.context)
    if deps.llm is None:
        return {"error": {"code": LlmUnavailable.code, "detail": NO_LLM_MESSAGE}}
    return await generate_sql(state, runtime)


def _after_retrieve(state: State) -> str:
    return END if state.get("source") == "verified" else "generate"


def build_dry_run_graph() -> CompiledStateGraph[State, Context, InputState, State]:
    builder = StateGraph(State, context_schema=Context, input_schema=InputState, output_schema=State)
    builder.add_node("load_context", load_context)
    builder.add_node("retrieve_schema", retrieve_schema)
    builder.add_node("generate", _generate)
    builder.add_edge(START, "load_context")
    builder.add_edge("load_context", "retrieve_schema")
    builder.add_conditional_edges("retrieve_schema", _after_retrieve)
    builder.add_edge("generate", END)
    return builder.compile(name="bizsql-dry-run")


async def dry_run(
    graph: CompiledStateGraph[Any, Any, Any, Any],
    deps: Deps | None,
    identity: Identity,
    business: BusinessConfig,
    question: str,
) -> DryRunResult:
    state = await invoke_turn(graph, deps, Turn(identity, business.business_id, DRY_RUN_THREAD, question))
    sql = state.get("sql") or None
    verdict = None
    if sql:
        checked = check_sql(sql, allow_writes=business.allow_writes and identity.may_write)
        verdict = VerdictOut.model_validate(checked.model_dump())
    error = state.get("error")
    return DryRunResult(
        business_id=business.business_id,
        question=question,
        sql=sql,
        source=state.get("source") if sql else None,
        confidence=state.get("confidence") if sql else None,
        explanation=state.get("explanation", ""),
        verdict=verdict,
        tables=list(state.get("tables") or []),
        schema_context=state.get("schema_context", ""),
        error=error["detail"] if error else None,
    )
