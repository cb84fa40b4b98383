"""One chat turn through the graph, as a plain function (the API routes only call these).

``run_chat_turn`` returns the finished turn; ``stream_chat_turn`` yields the same turn as events: node
progress, then answer tokens as the LLM writes them, then a final event with the full result.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.messages import AIMessageChunk, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from pydantic import BaseModel, Field

from bizsql.auth.identity import Identity
from bizsql.errors import BizsqlError
from bizsql.graph.context import Context
from bizsql.llm import ANSWER_TAG
from bizsql.metrics import CHAT_TURNS, SQL_REFUSALS

Graph = CompiledStateGraph[Any, Any, Any, Any]


class TurnErrorOut(BaseModel):
    code: str
    detail: str


class TokenUsageOut(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0
    calls: int = 0


class ChatResult(BaseModel):
    """One answered turn. ``rows`` are capped by the business's row cap (``truncated`` says so)."""

    thread_id: str
    intent: str = Field(
        description="database, general, clarify, or unavailable (no LLM, or today's token budget is spent)."
    )
    answer: str
    sql: str | None = None
    columns: list[str] = Field(default_factory=list)
    rows: list[list[Any]] = Field(default_factory=list)
    row_count: int = 0
    truncated: bool = False
    confidence: float | None = None
    source: Literal["llm", "verified"] | None = None
    chart: dict[str, Any] | None = Field(None, description="A Vega-Lite spec when the result suits one.")
    error: TurnErrorOut | None = Field(
        None, description="Why the turn has no rows (e.g. sql_rejected, llm_unavailable, rate_limited)."
    )
    usage: TokenUsageOut = Field(default_factory=TokenUsageOut, description="LLM tokens this turn used.")


@dataclass(frozen=True)
class Turn:
    """A checked request: the caller, the business it may act on (None: general), the thread, the text."""

    identity: Identity
    business_id: str | None
    thread_id: str
    message: str

    def context(self, deps: Any) -> Context:
        return Context(
            business_id=self.business_id or "",
            username=self.identity.username,
            role=self.identity.role,
            home_business=self.identity.business_id,
            deps=deps,
        )

    def config(self) -> RunnableConfig:
        return {"configurable": {"thread_id": self.thread_id}, "metadata": {"user": self.identity.username}}

    def input(self) -> dict[str, Any]:
        return {"messages": [HumanMessage(self.message)]}


@dataclass
class Timing:
    """How long the graph ran, so the API can report its own overhead apart (Server-Timing)."""

    graph_ms: float = 0.0


async def run_chat_turn(graph: Graph, deps: Any, turn: Turn, timing: Timing | None = None) -> ChatResult:
    started = time.perf_counter()
    try:
        state = await graph.ainvoke(turn.input(), turn.config(), context=turn.context(deps))
    finally:
        if timing is not None:
            timing.graph_ms = (time.perf_counter() - started) * 1000
    return finish(turn, state)


async def stream_chat_turn(
    graph: Graph, deps: Any, turn: Turn, timing: Timing | None = None
) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """(event, data) pairs: ``node`` per finished node, ``token`` per answer chunk, ``final`` once.

    A failure after the stream began becomes an ``error`` event in the API's error shape.
    """
    started = time.perf_counter()
    state: dict[str, Any] = {}
    streamed = False
    try:
        async for mode, payload in graph.astream(
            turn.input(),
            turn.config(),
            context=turn.context(deps),
            stream_mode=["updates", "messages", "values"],
        ):
            data: Any = payload
            if mode == "values":
                state = data
            elif mode == "updates":
                for node in data:
                    if not node.startswith("__"):
                        yield "node", {"node": node}
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
    result = finish(turn, state)
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
    data = state.get("result") or {}
    sql = state.get("sql") or None
    intent = str(state.get("intent") or "general")
    return ChatResult(
        thread_id=thread_id,
        intent=intent,
        answer=str(state.get("answer") or ""),
        sql=sql,
        columns=list(data.get("columns") or []),
        rows=[list(row) for row in data.get("rows") or []],
        row_count=int(data.get("row_count") or 0),
        truncated=bool(data.get("truncated")),
        confidence=float(state["confidence"]) if sql and state.get("confidence") is not None else None,
        source=state.get("source") if sql else None,
        chart=state.get("chart"),
        error=TurnErrorOut(**state["error"]) if state.get("error") else None,
        usage=TokenUsageOut(**(state.get("usage") or {})),
    )
