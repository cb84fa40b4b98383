"""execute: run the SQL through the executor (in-process or over MCP) as the business's own role.

A database error (a wrong column, a syntax slip) goes back to generate_sql with the message (``retry``),
at most ``max_sql_retries`` times; any other error (a refusal, a timeout, the SQL service down) ends the
turn (or the plan's step) with an answer that says so, so the thread never keeps a question without one.
"""

from __future__ import annotations

from langgraph.runtime import Runtime

from bizsql.errors import BizsqlError, QueryFailed, QueryTimeout
from bizsql.graph.context import Context
from bizsql.graph.state import State, StepState
from bizsql.nodes.answers import retry_after, turn_error
from bizsql.nodes.scope import begin


async def execute(
    state: State | StepState,
    runtime: Runtime[Context],
) -> State:
    scope = await begin(runtime)
    assert scope.business is not None
    try:
        result = await scope.deps.executor.run(
            state.get("sql", ""), business=scope.business, identity=scope.ctx.identity
        )
    except QueryTimeout as exc:  # a QueryFailed, but a rewrite would time out again: end the turn
        return {"error": turn_error(exc), "result": None, "retry": False}
    except QueryFailed as exc:
        return {**retry_after(scope, state, turn_error(exc)), "result": None}
    except BizsqlError as exc:  # refused, timed out, or the SQL service down: the turn still gets its answer
        return {"error": turn_error(exc), "result": None, "retry": False}
    return {"result": result.model_dump(), "error": None, "retry": False}
