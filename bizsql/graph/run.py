"""One chat turn through a graph: the one runner the API, the CLI, the evals and the dry run call.

``invoke_turn`` returns the graph's final state; ``run_turn`` the finished turn as a ``ChatResult``;
``stream_turn`` the same turn as events: node progress, then answer tokens as the LLM writes them, then
a final event with the full result. A turn paused for a write's approval answers ``approval_required``;
``resume_turn`` continues it with the decision.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessageChunk, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command
from pydantic import BaseModel, Field

from bizsql.auth.identity import Identity
from bizsql.errors import BizsqlError
from bizsql.graph.approval import (
    ApprovalOut,
    Decision,
    PendingWrite,
    pending_answer,
    pending_in,
    pending_out,
    record_out,
)
from bizsql.graph.context import Context
from bizsql.graph.interfaces import Deps
from bizsql.llm import ANSWER_TAG
from bizsql.metrics import CHAT_TURNS, SQL_REFUSALS
from bizsql.sql.result import NO_ROWS, ResultRows

Graph = CompiledStateGraph[Any, Any, Any, Any]


class TurnErrorOut(BaseModel):
    code: str
    detail: str


class TokenUsageOut(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0
    calls: int = 0


class StepOut(ResultRows):
    """One step of a planned turn: its question, its SQL and rows, or why it failed."""

    question: str
    sql: str | None = None
    error: TurnErrorOut | None = None


class _TurnHead(BaseModel):
    thread_id: str
    intent: str = Field(
        description="database, general, clarify, unavailable (no LLM, or today's token budget is spent), "
        "or approval_required (a write waits for POST /chat/approve)."
    )
    answer: str
    sql: str | None = None


# Pydantic orders fields from the last base to the first: a body reads thread, intent, answer and SQL
# first, then the rows (declared once, in sql.result), then the rest, as it always has.
class ChatResult(ResultRows, _TurnHead):
    """One answered turn. ``rows`` are capped by the business's row cap (``truncated`` says so)."""

    confidence: float | None = None
    source: Literal["llm", "verified"] | None = None
    chart: dict[str, Any] | None = Field(None, description="A Vega-Lite spec when the result suits one.")
    error: TurnErrorOut | None = Field(
        None, description="Why the turn has no rows (e.g. sql_rejected, llm_unavailable, rate_limited)."
    )
    usage: TokenUsageOut = Field(default_factory=TokenUsageOut, description="LLM tokens this turn used.")
    steps: list[StepOut] | None = Field(
        None,
        description="A planned turn's steps in order (the top-level SQL and rows are then the last step's "
        "that ran); absent for a one-step turn.",
    )
    approval: ApprovalOut | None = Field(
        None, description="A generated write's approval: pending (rows are its dry run's sample) or decided."
    )


@dataclass(frozen=True)
class Turn:
    """A checked request: the caller, the business it may act on (None: general), the thread, the text."""

    identity: Identity
    business_id: str | None
    thread_id: str
    message: str

    def context(self, deps: Deps | None) -> Context:
        return Context.of(self.identity, self.business_id, deps)

    def config(self, callbacks: Sequence[BaseCallbackHandler] = ()) -> RunnableConfig:
        config: RunnableConfig = {
            "configurable": {"thread_id": self.thread_id},
            "metadata": {"user": self.identity.username},
        }
        if callbacks:
            config["callbacks"] = list(callbacks)
        return config

    def input(self) -> dict[str, Any]:
        return {"messages": [HumanMessage(self.message)]}


@dataclass
class Timing:
    """How long the graph ran, so the API can report its own overhead apart (Server-Timing)."""

    graph_ms: float = 0.0


async def invoke_turn(
    graph: Graph,
    deps: Deps | None,
    turn: Turn,
    *,
    callbacks: Sequence[BaseCallbackHandler] = (),
    timing: Timing | None = None,
) -> dict[str, Any]:
    """The graph's final state after the turn (what the CLI's ``--json`` and the evals read)."""
    started = time.perf_counter()
    try:
        return dict(await graph.ainvoke(turn.input(), turn.config(callbacks), context=turn.context(deps)))
    finally:
        if timing is not None:
            timing.graph_ms = (time.perf_counter() - started) * 1000


async def run_turn(graph: Graph, deps: Deps | None, turn: Turn, timing: Timing | None = None) -> ChatResult:
    return finish(turn, await invoke_turn(graph, deps, turn, timing=timing))


async def resume_turn(
    graph: Graph, deps: Deps | None, turn: Turn, decision: Decision, timing: Timing | None = None
) -> ChatResult:
    """Continue a turn paused for approval with ``decision``, as ``turn.identity`` (who decides)."""
    started = time.perf_counter()
    try:
        state = await graph.ainvoke(Command(resume=decision), turn.config(), context=turn.context(deps))
    finally:
        if timing is not None:
            timing.graph_ms = (time.perf_counter() - started) * 1000
    return finish(turn, dict(state))


async def stream_turn(
    graph: Graph, deps: Deps | None, turn: Turn, timing: Timing | None = None
) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """(event, data) pairs: ``node`` per finished node, ``token`` per answer chunk, ``final`` once.

    A planned turn adds ``plan`` (its steps' questions) and, for each step, ``step_started``,
    ``step_sql`` and ``step_rows`` as it runs (steps that need nothing from each other run at once, so
    their events interleave). A failure after the stream began becomes an ``error`` event in the API's
    error shape.
    """
    started = time.perf_counter()
    state: dict[str, Any] = {}
    interrupts: Any = ()
    streamed = False
    try:
        async for namespace, mode, payload in graph.astream(
            turn.input(),
            turn.config(),
            context=turn.context(deps),
            stream_mode=["updates", "messages", "values", "custom"],
            subgraphs=True,  # a plan's steps run as subgraphs: their events come from inside them
        ):
            data: Any = payload
            if mode == "custom" and isinstance(data, dict) and "event" in data:
                yield str(data["event"]), {k: v for k, v in data.items() if k != "event"}
            elif namespace:
                continue  # a step's own nodes and values: its step events say what a client needs
            elif mode == "values":
                state = data
            elif mode == "updates":
                interrupts = data.get("__interrupt__") or interrupts
                for node, update in data.items():
                    if node.startswith("__"):
                        continue
                    yield "node", {"node": node}
                    if node == "plan" and (update or {}).get("plan"):
                        yield "plan", {"steps": [step["question"] for step in update["plan"]]}
            elif mode == "messages":
                chunk, meta = data
                if (
                    isinstance(chunk, AIMessageChunk)
                    and ANSWER_TAG in (meta.get("tags") or [])
                    and chunk.text
                ):
                    streamed = True
                    yield "token", {"text": chunk.text}
    except BizsqlError as exc:
        yield "error", {"error": exc.code, "detail": exc.detail}
        return
    finally:
        if timing is not None:
            timing.graph_ms = (time.perf_counter() - started) * 1000
    result = finish(turn, {**state, "__interrupt__": interrupts} if interrupts else state)
    if not streamed and result.answer:
        yield "token", {"text": result.answer}
    yield "final", result.model_dump(mode="json")


def finish(turn: Turn, state: dict[str, Any]) -> ChatResult:
    result = shape(turn.thread_id, state)
    business = turn.business_id or "-"
    CHAT_TURNS.labels(business=business, intent=result.intent, source=result.source or "-").inc()
    if result.error is not None and result.error.code == "sql_rejected":
        SQL_REFUSALS.labels(business=business).inc()
    return result


def shape(thread_id: str, state: dict[str, Any]) -> ChatResult:
    """The API's view of the graph's final state."""
    if (pending := pending_in(state.get("__interrupt__") or ())) is not None:
        return approval_required(thread_id, state, pending)
    rows = ResultRows.model_validate(state.get("result") or NO_ROWS)
    sql = state.get("sql") or None
    return ChatResult(
        **dict(rows),
        thread_id=thread_id,
        intent=str(state.get("intent") or "general"),
        answer=str(state.get("answer") or ""),
        sql=sql,
        confidence=float(state["confidence"]) if sql and state.get("confidence") is not None else None,
        source=state.get("source") if sql else None,
        chart=state.get("chart"),
        error=TurnErrorOut(**state["error"]) if state.get("error") else None,
        usage=TokenUsageOut(**(state.get("usage") or {})),
        steps=[step_out(step) for step in state["steps"]] if state.get("steps") else None,
        approval=record_out(state["approval"]) if state.get("approval") else None,
    )


def approval_required(thread_id: str, state: dict[str, Any], pending: PendingWrite) -> ChatResult:
    """A turn paused before its write: the dry run's count and sample, and the approval to decide."""
    sample = pending["rows"]
    changed = pending["changed"]
    return ChatResult(
        thread_id=thread_id,
        intent="approval_required",
        answer=pending_answer(pending),
        sql=pending["sql"],
        columns=pending["columns"],
        rows=sample,
        row_count=len(sample),
        truncated=pending["rows_affected"] > len(sample),
        confidence=state.get("confidence"),
        source=state.get("source"),
        error=TurnErrorOut(code="approval_stale", detail=changed) if changed else None,
        usage=TokenUsageOut(**(state.get("usage") or {})),
        approval=pending_out(pending),
    )


def step_out(step: dict[str, Any]) -> StepOut:
    rows = ResultRows.model_validate(step.get("result") or NO_ROWS)
    error = step.get("error")
    return StepOut(
        **dict(rows),
        question=str(step.get("question", "")),
        sql=step.get("sql") or None,
        error=TurnErrorOut(**error) if error else None,
    )
