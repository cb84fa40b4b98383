"""How a node ends a turn or changes its course: the answer message, a typed error, the answer when
the LLM is missing, down or over budget, and the switch to a verified query."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from langchain_core.messages import AIMessage

from bizsql.errors import BizsqlError, LlmUnavailable, RateLimited
from bizsql.graph.state import Intent, State, StepState, TurnError
from bizsql.nodes.scope import RunScope
from bizsql.retrieval.index import VerifiedMatch
from bizsql.stores.conversations import META_KEY

# META_KEY: the ``additional_kwargs`` key of our AI messages (intent, SQL, row count, source, time).
__all__ = [
    "META_KEY", "answer_message", "budget_answer", "llm_failure", "resets_in", "retry_after", "turn_error",
    "unavailable_answer", "verified_update",
]  # fmt: skip


def answer_message(answer: str, **meta: Any) -> AIMessage:
    """The turn's answer as a message, carrying intent, SQL, row count and time for history and persist."""
    stamped = {"at": datetime.now(UTC).isoformat(), **meta}
    return AIMessage(content=answer, additional_kwargs={META_KEY: stamped})


def retry_after(scope: RunScope, state: State | StepState, error: TurnError) -> State:
    """An attempt that failed in a way a rewrite may fix: the error, and whether generate_sql gets it back
    (LLM-written SQL only, at most ``max_sql_retries`` times after the first try)."""
    attempts = state.get("attempts", 0) + 1
    retry = (
        state.get("source") == "llm"
        and scope.deps.llm is not None
        and attempts <= scope.deps.settings.max_sql_retries
    )
    return {"error": error, "attempts": attempts, "retry": retry}


def turn_error(exc: BizsqlError) -> TurnError:
    return {"code": exc.code, "detail": exc.detail}


def unavailable_answer(scope: RunScope, reason: str) -> str:
    """What a user sees when the LLM is missing, down or over budget: what still works, concretely."""
    examples = [q.question for q in (scope.business.verified_queries if scope.business else [])][:5]
    if not examples:
        return reason
    listed = "\n".join(f"- {q}" for q in examples)
    return f"{reason}\n\nVerified questions I can answer now:\n{listed}"


def budget_answer(scope: RunScope, exc: RateLimited) -> str:
    """The answer to a turn the daily token budget refused: a whole turn in the thread, not an HTTP error."""
    whose = scope.business.name if scope.business else "this business"
    return unavailable_answer(
        scope,
        f"Today's AI budget for {whose} is used up, so I cannot answer questions that need the AI until it "
        f"resets at midnight UTC ({resets_in(exc.retry_after)}). Verified questions still work.",
    )


def resets_in(seconds: int) -> str:
    hours, minutes = divmod(max(seconds, 0) // 60, 60)
    if hours:
        return f"in about {hours} h {minutes} min"
    return f"in about {minutes} min" if minutes else "in less than a minute"


def llm_failure(
    scope: RunScope,
    exc: LlmUnavailable | RateLimited,
    *,
    intent: Intent = "unavailable",
    examples: bool = True,
    message: bool = True,
) -> State:
    """The update of a turn whose LLM call failed. Over budget, the turn is "unavailable" and says when
    the budget resets; the LLM down, it says why and (``examples``) which verified questions still work.
    ``message``: the node ends the turn here, so the answer goes into the thread now (else respond does)."""
    meta: dict[str, Any] = {}
    if isinstance(exc, RateLimited):
        intent, answer, meta = "unavailable", budget_answer(scope, exc), {"error": exc.code}
    else:
        reason = f"I cannot answer that right now: {exc.detail}."
        answer = unavailable_answer(scope, reason) if examples else reason
    update: State = {"intent": intent, "answer": answer, "error": turn_error(exc)}
    if message:
        update["messages"] = [answer_message(answer, intent=intent, **meta)]
    return update


def verified_update(match: VerifiedMatch) -> State:
    """The turn takes the verified query's SQL: no LLM writes any."""
    return {
        "intent": "database",
        "sql": match.sql,
        "source": "verified",
        "verified_question": match.question,
        "confidence": 1.0,
        "explanation": f"Verified query for: {match.question}",
    }
