"""validate: the SQL guard decides before anything runs. A refusal of what the SQL does ends the turn and
is never retried; a name the statement never declares (``o.channel`` with no ``o`` in scope) is a slip,
and goes back to generate_sql with the guard's reason, as a database error does. A write the business
wants approved goes to its dry run and an approval instead of straight to execute."""

from __future__ import annotations

from langgraph.runtime import Runtime

from bizsql.graph.context import Context
from bizsql.graph.state import State, StepState, TurnError
from bizsql.nodes.answers import retry_after
from bizsql.nodes.scope import begin


async def validate(
    state: State | StepState,
    runtime: Runtime[Context],
) -> State:
    from bizsql.sql.guard import check_sql

    scope = await begin(runtime)
    assert scope.business is not None
    allow_writes = scope.business.allow_writes and scope.ctx.identity.may_write and not state.get("read_only")
    verdict = check_sql(state.get("sql", ""), allow_writes=allow_writes)
    if not verdict.allowed:
        refused: TurnError = {"code": "sql_rejected", "detail": verdict.reason}
        return retry_after(scope, state, refused) if verdict.retryable else {"error": refused, "retry": False}
    return {
        "error": None,
        "retry": False,
        "needs_approval": verdict.kind == "write" and scope.business.writes_need_approval,
    }
