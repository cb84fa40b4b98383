"""validate: the SQL guard decides before anything runs; a refusal ends the turn and is never retried."""

from __future__ import annotations

from typing import Optional

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from bizsql.graph.context import Context
from bizsql.graph.state import State
from bizsql.nodes._common import begin


async def validate(
    state: State,
    runtime: Runtime[Context],
    config: Optional[RunnableConfig] = None,  # noqa: UP045 (langgraph injects only this spelling)
) -> State:
    from bizsql.tools.sql_guard import check_sql

    turn = await begin(runtime, config)
    assert turn.business is not None
    allow_writes = turn.business.allow_writes and turn.ctx.identity.may_write
    verdict = check_sql(state.get("sql", ""), allow_writes=allow_writes)
    if not verdict.allowed:
        return {"error": {"code": "sql_rejected", "detail": verdict.reason}}
    return {"error": None}
