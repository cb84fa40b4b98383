"""respond: the answer a person reads (a short summary), the SQL, and a chart when the result suits one.

Verified answers and the no-LLM case get a summary written from the result here, with no LLM call. In
privacy mode the LLM sees only column names and counts, never row values.
"""

from __future__ import annotations

from typing import Optional

from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from bizsql.charts import chart_spec
from bizsql.errors import LlmUnavailable, RateLimited
from bizsql.graph.context import Context
from bizsql.graph.state import ResultData, State
from bizsql.nodes._common import Turn, add_usage, answer_message, begin
from bizsql.prompts import answer as prompt

VALUE_CHARS = 200


def error_answer(state: State) -> str:
    error = state.get("error") or {"code": "error", "detail": "unknown error"}
    code, detail = error["code"], error["detail"]
    if code == "sql_rejected":
        return f"I can't run that query: {detail}."
    if code == "query_timeout":
        return f"The query took too long and was stopped ({detail}). Try narrowing the question."
    if code == "query_failed":
        return f"The query failed on the database: {detail}"
    return f"I could not answer: {detail}"


def plain_summary(result: ResultData, *, privacy: bool) -> str:
    """A summary from the result alone (no LLM): counts, and the value itself for a single cell."""
    if result["kind"] == "write":
        return f"Done: {result.get('rows_affected') or 0} row(s) changed."
    n, columns = result["row_count"], result["columns"]
    if n == 0:
        return "The query returned no rows."
    if n == 1 and len(columns) == 1 and not privacy:
        return f"{columns[0]}: {result['rows'][0][0]}."
    more = " (cut at the row limit)" if result["truncated"] else ""
    return f"The query returned {n} row(s){more} with columns {', '.join(columns)}."


def rows_for_llm(result: ResultData, limit: int, *, privacy: bool) -> str:
    if privacy:
        return prompt.PRIVATE_ROWS
    shown = result["rows"][:limit]
    lines = [" | ".join(str(v)[:VALUE_CHARS] for v in row) for row in shown]
    head = f"First {len(shown)} row(s):" if len(shown) < result["row_count"] else "Rows:"
    return "\n".join([head, " | ".join(result["columns"]), *lines])


async def summarize(turn: Turn, state: State, result: ResultData) -> tuple[str, dict[str, int] | None]:
    assert turn.business is not None
    privacy = turn.business.privacy_mode
    if state.get("source") == "verified" or turn.deps.llm is None or result["kind"] == "write":
        text = plain_summary(result, privacy=privacy)
        if state.get("source") == "verified":
            text = f"Answered with the verified query “{state.get('verified_question', '')}”. {text}"
        return text, None
    messages = [
        SystemMessage(prompt.SUMMARY_SYSTEM.format(business_name=turn.business.name)),
        HumanMessage(
            prompt.SUMMARY_HUMAN.format(
                question=state.get("question", ""),
                row_count=result["row_count"],
                truncated=" (cut at the row limit)" if result["truncated"] else "",
                columns=", ".join(result["columns"]),
                rows=rows_for_llm(result, turn.deps.settings.summary_rows, privacy=privacy),
            )
        ),
    ]
    try:
        text, usage = await turn.deps.llm.text(messages, business_id=turn.business_id)
    except (LlmUnavailable, RateLimited):  # the rows already ran: never throw them away for a summary
        return plain_summary(result, privacy=privacy), None
    return text or plain_summary(result, privacy=privacy), add_usage(state, usage)


async def respond(
    state: State,
    runtime: Runtime[Context],
    config: Optional[RunnableConfig] = None,  # noqa: UP045 (langgraph injects only this spelling)
) -> State:
    turn = await begin(runtime, config)
    result = state.get("result")
    update: State = {}
    if state.get("error") or result is None:
        answer, chart = state.get("answer") or error_answer(state), None  # a budget refusal wrote its own
    else:
        answer, usage = await summarize(turn, state, result)
        if usage is not None:
            update["usage"] = usage
        chart = chart_spec(result["columns"], result["rows"], title=state.get("question", ""))
    error = state.get("error")
    message = answer_message(
        answer,
        intent=state.get("intent") or "database",
        sql=state.get("sql", ""),
        row_count=result["row_count"] if result else None,
        source=state.get("source", "llm"),
        error=error["code"] if error else None,
    )
    return {**update, "answer": answer, "chart": chart, "messages": [message]}
