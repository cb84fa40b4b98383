"""The steps of a plan: which run next (``next_steps``, as ``Send`` fan-out), what each step is told of
the earlier steps it uses, and the events a stream shows as each step runs.

A step runs the same nodes as a one-step turn (retrieve_schema, generate_sql, validate, execute, with the
same retries) in its own state, so parallel steps never write each other's fields. Steps only read.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.callbacks import adispatch_custom_event
from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime
from langgraph.types import Send

from bizsql.graph.context import Context
from bizsql.graph.state import State, StepInput, StepResult, StepState
from bizsql.nodes.conversation import data_block
from bizsql.nodes.respond import VALUE_CHARS
from bizsql.nodes.scope import begin
from bizsql.nodes.validate import validate
from bizsql.prompts import data
from bizsql.sql.result import QueryResult


async def emit(event: str, **payload: Any) -> None:
    """One step event: for ``/chat/stream`` (LangGraph's ``custom`` stream mode) and as a named custom
    event for LangServe's ``/graph/stream_events`` and Studio. Nobody streaming, both are no-ops."""
    get_stream_writer()({"event": event, **payload})
    await adispatch_custom_event(event, payload)


def step_failed(steps: list[StepResult]) -> StepResult | None:
    return next((s for s in steps if s.get("error")), None)


def next_steps(state: State) -> list[Send] | Literal["combine", "persist"]:
    """The steps whose earlier steps are all done, run at once; ``combine`` when all are done or one
    failed (the plan ends there, with the steps done so far)."""
    if state.get("answer"):
        return "persist"  # the plan was refused (budget) or could not be written
    plan, steps = state.get("plan", []), state.get("steps", [])
    done = {s["index"] for s in steps}
    if step_failed(steps):
        return "combine"
    ready = [i for i, step in enumerate(plan) if i not in done and all(u in done for u in step["uses"])]
    if not ready:
        return "combine"
    return [Send("run_step", step_input(state, i)) for i in ready]


def step_input(state: State, index: int) -> StepInput:
    step = state.get("plan", [])[index]
    by_index = {s["index"]: s for s in state.get("steps", [])}
    used = [by_index[u] for u in step["uses"] if u in by_index]
    return {"index": index, "question": step["question"], "used": used}


def prior_results(used: list[StepResult], *, rows: int, privacy: bool) -> str:
    """The earlier steps a step uses, as one data block: each one's question, SQL and first rows (in
    privacy mode only its columns and row count: the step then reuses the SQL as a subquery)."""
    parts = []
    for step in used:
        lines = [f"Step {step['index'] + 1}: {step['question']}", f"SQL: {' '.join(step['sql'].split())}"]
        raw = step.get("result")
        if raw is not None:
            result = QueryResult.model_validate(raw)
            if privacy:
                lines.append(f"({result.row_count} rows; columns {', '.join(result.columns)})")
            else:
                lines.append(" | ".join(result.columns))
                lines += [" | ".join(str(v)[:VALUE_CHARS] for v in row) for row in result.rows[:rows]]
                if result.row_count > rows:
                    lines.append(f"(first {rows} of {result.row_count} rows)")
        parts.append("\n".join(lines))
    return data_block(data.RESULT, "\n\n".join(parts)) if parts else ""


async def start_step(
    state: StepState,
    runtime: Runtime[Context],
) -> StepState:
    """A clean, read-only slate for the step, what it is told of the earlier steps it uses, and the
    ``step_started`` event."""
    scope = await begin(runtime)
    assert scope.business is not None
    await emit("step_started", index=state.get("index", 0), question=state.get("question", ""))
    prior = prior_results(
        state.get("used", []),
        rows=scope.deps.settings.plan_prior_rows,
        privacy=scope.business.privacy_mode,
    )
    return {
        "prior": prior, "read_only": True, "sql": "", "source": "llm", "error": None, "attempts": 0,
        "result": None, "retry": False,
    }  # fmt: skip


async def check_step_sql(
    state: StepState,
    runtime: Runtime[Context],
) -> StepState:
    """validate, then the ``step_sql`` event for SQL the guard allowed (each attempt's, on a retry)."""
    update: StepState = await validate(state, runtime)  # type: ignore[assignment]
    if not update.get("error"):
        await emit("step_sql", index=state.get("index", 0), sql=state.get("sql", ""))
    return update


async def finish_step(state: StepState) -> StepState:
    """The step's result for the turn, and the ``step_rows`` event (its rows, or why it failed)."""
    index = state.get("index", 0)
    result: StepResult = {
        "index": index,
        "question": state.get("question", ""),
        "sql": state.get("sql", ""),
        "source": state.get("source", "llm"),
        "confidence": state.get("confidence", 0.0),
        "result": state.get("result"),
        "error": state.get("error"),
    }
    raw = state.get("result")
    rows = QueryResult.model_validate(raw) if raw is not None else None
    await emit(
        "step_rows",
        index=index,
        columns=rows.columns if rows else [],
        rows=rows.rows if rows else [],
        row_count=rows.row_count if rows else 0,
        truncated=rows.truncated if rows else False,
        error=state.get("error"),
    )
    return {"steps": [result]}


def gather_steps(state: State) -> State:
    """Where parallel steps meet before the next ones start (no work of its own)."""
    del state
    return {}
