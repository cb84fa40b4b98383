"""combine: one answer from all the steps of a plan, a table for each step, and a chart where one helps.

The turn's top-level SQL and rows are the last step's that ran, so a client that knows nothing of plans
still shows something true; ``steps`` carries them all. A failed step ends the plan: the answer uses the
steps done and says which step failed and why.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.runtime import Runtime

from bizsql.charts import chart_spec
from bizsql.errors import LlmUnavailable, RateLimited
from bizsql.graph.context import Context
from bizsql.graph.state import State, StepResult
from bizsql.nodes.answers import answer_message
from bizsql.nodes.respond import error_answer, plain_summary, result_for_llm
from bizsql.nodes.scope import RunScope, begin
from bizsql.nodes.steps import step_failed
from bizsql.prompts import answer as prompt
from bizsql.prompts import data
from bizsql.sql.result import QueryResult


def result_of(step: StepResult) -> QueryResult | None:
    raw = step.get("result")
    return QueryResult.model_validate(raw) if raw is not None else None


def failure_note(step: StepResult, plan_length: int) -> str:
    """Which step failed, and why, as a person reads it."""
    why = error_answer({"error": step.get("error")})
    skipped = plan_length - step["index"] - 1
    rest = f" The {skipped} step(s) after it did not run." if skipped > 0 else ""
    return f"Step {step['index'] + 1} (“{step['question']}”) failed. {why}{rest}"


def plain_answer(steps: list[StepResult], *, privacy: bool) -> str:
    """The answer without an LLM: one line per step that ran."""
    lines = []
    for step in steps:
        result = result_of(step)
        if result is not None:
            lines.append(
                f"Step {step['index'] + 1} ({step['question']}): {plain_summary(result, privacy=privacy)}"
            )
    return "\n".join(lines)


async def written_answer(
    scope: RunScope, state: State, done: list[StepResult]
) -> tuple[str, dict[str, Any] | None]:
    """The LLM's answer from the steps' results (only columns and counts in privacy mode)."""
    assert scope.business is not None
    privacy = scope.business.privacy_mode
    llm = scope.deps.llm
    if llm is None or not done:
        return plain_answer(done, privacy=privacy), None
    parts = []
    for step in done:
        result = result_of(step)
        assert result is not None
        outcome = f"It returned {result.row_count} row(s)" + result_for_llm(
            result, scope.deps.settings.summary_rows, privacy=privacy
        )
        parts.append(
            prompt.COMBINE_STEP.format(number=step["index"] + 1, question=step["question"], outcome=outcome)
        )
    messages = [
        SystemMessage(prompt.COMBINE_SYSTEM.format(business_name=scope.business.name, data_rule=data.RULE)),
        HumanMessage(
            prompt.COMBINE_HUMAN.format(question=state.get("question", ""), steps="\n\n".join(parts))
        ),
    ]
    try:
        text, usage = await llm.text(messages, business_id=scope.business_id)
    except (LlmUnavailable, RateLimited):  # the steps already ran: never throw their rows away
        return plain_answer(done, privacy=privacy), None
    return text or plain_answer(done, privacy=privacy), dict(usage.as_metadata())


def first_chart(steps: list[StepResult], question: str) -> dict[str, Any] | None:
    """The chart of the last step whose result suits one (the plan builds up to it)."""
    for step in reversed(steps):
        result = result_of(step)
        if result is not None:
            spec = chart_spec(result.columns, result.rows, title=step["question"] or question)
            if spec is not None:
                return spec
    return None


def logged_step(step: StepResult) -> dict[str, Any]:
    """A step as the thread keeps it: enough for a follow-up to build on ("and for the second one?")."""
    result, error = result_of(step), step.get("error")
    return {
        "question": step["question"],
        "sql": step.get("sql", ""),
        "row_count": result.row_count if result else None,
        "error": error["code"] if error else None,
    }


async def combine(
    state: State,
    runtime: Runtime[Context],
) -> State:
    scope = await begin(runtime)
    assert scope.business is not None
    steps = state.get("steps", [])
    done = [s for s in steps if s.get("result") is not None and not s.get("error")]
    failed = step_failed(steps)
    answer, usage = await written_answer(scope, state, done)
    update: State = {}
    if usage is not None:
        update["usage"] = usage  # type: ignore[typeddict-item]
    if failed is not None:
        note = failure_note(failed, len(state.get("plan", [])))
        answer = f"{answer}\n\n{note}" if answer else note
        error = failed.get("error") or {"code": "error", "detail": "unknown error"}
        update["error"] = {"code": error["code"], "detail": f"step {failed['index'] + 1}: {error['detail']}"}
    last = done[-1] if done else None
    update |= {
        "sql": last["sql"] if last else "",
        "source": last.get("source", "llm") if last else "llm",
        "result": last.get("result") if last else None,
        "confidence": min((s.get("confidence", 0.0) for s in done), default=0.0),
        "answer": answer,
        "chart": first_chart(done, state.get("question", "")),
    }
    last_rows = result_of(last) if last else None
    turn_error = update.get("error")
    message = answer_message(
        answer,
        intent="database",
        sql=update["sql"],
        row_count=last_rows.row_count if last_rows else None,
        source=update["source"],
        error=turn_error["code"] if turn_error else None,
        steps=[logged_step(s) for s in steps],
    )
    return {**update, "messages": [message]}
