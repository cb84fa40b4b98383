"""execute: run the SQL through the executor (in-process or over MCP) as the business's own role.

A database error (a wrong column, a syntax slip) goes back to generate_sql with the message, at most
``max_sql_retries`` times; any other error (a refusal, a timeout, the SQL service down) ends the turn
with an answer that says so, so the thread never keeps a question without one.
"""

from __future__ import annotations

from typing import Any, Literal, Optional

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from langgraph.types import Command

from bizsql.errors import BizsqlError, QueryFailed, QueryTimeout
from bizsql.graph.context import Context
from bizsql.graph.state import ResultData, State
from bizsql.nodes._common import begin, turn_error


def result_data(result: Any) -> ResultData:
    return {
        "columns": list(result.columns),
        "rows": [list(r) for r in result.rows],
        "row_count": int(result.row_count),
        "truncated": bool(result.truncated),
        "kind": str(getattr(result, "kind", "read")),
        "rows_affected": getattr(result, "rows_affected", None),
        "duration_ms": float(getattr(result, "duration_ms", 0.0)),
    }


async def execute(
    state: State,
    runtime: Runtime[Context],
    config: Optional[RunnableConfig] = None,  # noqa: UP045 (langgraph injects only this spelling)
) -> Command[Literal["generate_sql", "respond"]]:
    turn = await begin(runtime, config)
    assert turn.business is not None
    try:
        result = await turn.deps.executor.run(
            state.get("sql", ""), business=turn.business, identity=turn.ctx.identity
        )
    except QueryTimeout as exc:  # a QueryFailed, but a rewrite would time out again: end the turn
        return Command(update={"error": turn_error(exc), "result": None}, goto="respond")
    except QueryFailed as exc:
        attempts = state.get("attempts", 0) + 1
        retry = (
            state.get("source") == "llm"
            and turn.deps.llm is not None
            and attempts <= turn.deps.settings.max_sql_retries
        )
        update: State = {"error": turn_error(exc), "result": None, "attempts": attempts}
        return Command(update=update, goto="generate_sql" if retry else "respond")
    except BizsqlError as exc:  # refused, timed out, or the SQL service down: the turn still gets its answer
        return Command(update={"error": turn_error(exc), "result": None}, goto="respond")
    return Command(update={"result": result_data(result), "error": None}, goto="respond")
