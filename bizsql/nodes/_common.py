"""What every node needs: the turn's identity, clients and business, and the conversation as text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.config import get_config
from langgraph.runtime import Runtime

from bizsql.errors import BizsqlError, RateLimited
from bizsql.graph.context import Context, Deps, deps_of, resolve_context
from bizsql.graph.state import State, TurnError
from bizsql.llm import TokenUsage
from bizsql.stores.business import BusinessConfig
from bizsql.stores.conversations import META_KEY as CONVERSATIONS_META_KEY
from bizsql.stores.conversations import last_messages as window

META_KEY = CONVERSATIONS_META_KEY
"""``additional_kwargs`` key of our AI messages: intent, SQL, row count, source, time (history, persist)."""


@dataclass(frozen=True)
class Turn:
    ctx: Context
    deps: Deps
    business: BusinessConfig | None

    @property
    def business_id(self) -> str:
        return self.business.business_id if self.business else ""


async def begin(runtime: Runtime[Context], config: RunnableConfig | None = None) -> Turn:
    """Identity, clients and (when a business is named) its config, for one node.

    ``config`` defaults to the running graph's; a caller outside a graph run may pass its own.
    """
    ctx = resolve_context(runtime.context, config if config is not None else get_config())
    deps = await deps_of(ctx)
    business = await deps.configs.get(ctx.business_id) if ctx.business_id else None
    return Turn(ctx, deps, business)


def latest_question(state: State) -> str:
    for message in reversed(state.get("messages", [])):
        if isinstance(message, HumanMessage):
            return message.text.strip()
    return ""


def last_messages(messages: Sequence[AnyMessage], n: int) -> list[AnyMessage]:
    """The last ``n`` messages before the current question (the question itself is passed apart),
    starting on a user message (the conversation store's window)."""
    earlier = list(messages)
    if earlier and isinstance(earlier[-1], HumanMessage):
        earlier = earlier[:-1]
    return cast(list[AnyMessage], window(earlier, n))


def transcript(messages: Sequence[AnyMessage]) -> str:
    """Earlier turns as plain text, with the SQL of past answers (so follow-ups can build on it)."""
    lines = []
    for message in messages:
        if isinstance(message, HumanMessage):
            lines.append(f"User: {message.text.strip()}")
        elif isinstance(message, AIMessage):
            lines.append(f"Assistant: {message.text.strip()}")
            sql = (message.additional_kwargs.get(META_KEY) or {}).get("sql")
            if sql:
                lines.append(f"  (SQL used: {' '.join(sql.split())})")
    return "\n".join(lines) or "(none)"


def add_usage(state: State, usage: TokenUsage) -> dict[str, int]:
    before = state.get("usage") or {}
    return {
        "input_tokens": before.get("input_tokens", 0) + usage.input_tokens,
        "output_tokens": before.get("output_tokens", 0) + usage.output_tokens,
        "calls": before.get("calls", 0) + usage.calls,
    }


def turn_error(exc: BizsqlError) -> TurnError:
    return {"code": exc.code, "detail": exc.detail}


def unavailable_answer(turn: Turn, reason: str) -> str:
    """What a user sees when the LLM is missing, down or over budget: what still works, concretely."""
    examples = [q.question for q in (turn.business.verified_queries if turn.business else [])][:5]
    if not examples:
        return reason
    listed = "\n".join(f"- {q}" for q in examples)
    return f"{reason}\n\nVerified questions I can answer now:\n{listed}"


def budget_answer(turn: Turn, exc: RateLimited) -> str:
    """The answer to a turn the daily token budget refused: a whole turn in the thread, not an HTTP error."""
    whose = turn.business.name if turn.business else "this business"
    return unavailable_answer(
        turn,
        f"Today's AI budget for {whose} is used up, so I cannot answer questions that need the AI until it "
        f"resets at midnight UTC ({resets_in(exc.retry_after)}). Verified questions still work.",
    )


def resets_in(seconds: int) -> str:
    hours, minutes = divmod(max(seconds, 0) // 60, 60)
    if hours:
        return f"in about {hours} h {minutes} min"
    return f"in about {minutes} min" if minutes else "in less than a minute"


def answer_message(answer: str, **meta: Any) -> AIMessage:
    """The turn's answer as a message, carrying intent, SQL, row count and time for history and persist."""
    stamped = {"at": datetime.now(UTC).isoformat(), **meta}
    return AIMessage(content=answer, additional_kwargs={META_KEY: stamped})
