"""respond: the answer a person reads (a short summary), the SQL, and a chart when the result suits one.

Verified answers and the no-LLM case get a summary written from the result here, with no LLM call. In
privacy mode the LLM sees only column names and counts, never row values.
"""

from __future__ import annotations

from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.runtime import Runtime

from bizsql.charts import chart_spec
from bizsql.errors import LlmUnavailable, RateLimited
from bizsql.graph.context import Context
from bizsql.graph.state import State
from bizsql.llm import TurnUsage
from bizsql.nodes.answers import answer_message
from bizsql.nodes.conversation import data_block
from bizsql.nodes.scope import RunScope, begin
from bizsql.prompts import answer as prompt
from bizsql.prompts import data
from bizsql.sql.result import QueryResult

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


def plain_summary(result: QueryResult, *, privacy: bool) -> str:
    """A summary from the result alone (no LLM): counts, and the value itself for a single cell."""
    if result.kind == "write":
        return f"Done: {result.rows_affected or 0} row(s) changed."
    n, columns = result.row_count, result.columns
    if n == 0:
        return "The query returned no rows."
    if n == 1 and len(columns) == 1 and not privacy:
        return f"{columns[0]}: {result.rows[0][0]}."
    more = cut_note(result)
    return f"The query returned {n} row(s){more} with columns {', '.join(columns)}."


def cut_note(result: QueryResult) -> str:
    """Whether rows were cut off, and at which limit (rows or bytes); and whether values were cut."""
    note = ""
    if result.truncated:
        limit = "size" if result.truncated_by == "bytes" else "row"
        note = f" (cut at the {limit} limit)"
    cut = result.values_cut
    return note + (f" ({cut} long value(s) shortened)" if cut else "")


def result_for_llm(result: QueryResult, limit: int, *, privacy: bool) -> str:
    """The rows as one data block (values are any text a row holds), or only the columns in privacy mode."""
    if privacy:
        return prompt.PRIVATE_ROWS.format(columns=", ".join(result.columns))
    shown = result.rows[:limit]
    lines = [" | ".join(str(v)[:VALUE_CHARS] for v in row) for row in shown]
    first = prompt.FIRST_ROWS.format(shown=len(shown)) if len(shown) < result.row_count else ""
    rows = data_block(data.RESULT, "\n".join([" | ".join(result.columns), *lines]))
    return prompt.ROWS.format(first=first, rows=rows)


async def summarize(scope: RunScope, state: State, result: QueryResult) -> tuple[str, TurnUsage | None]:
    assert scope.business is not None
    privacy = scope.business.privacy_mode
    if state.get("source") == "verified" or scope.deps.llm is None or result.kind == "write":
        text = plain_summary(result, privacy=privacy)
        if state.get("source") == "verified":
            text = f"Answered with the verified query “{state.get('verified_question', '')}”. {text}"
        return text, None
    messages = [
        SystemMessage(prompt.SUMMARY_SYSTEM.format(business_name=scope.business.name, data_rule=data.RULE)),
        HumanMessage(
            prompt.SUMMARY_HUMAN.format(
                question=state.get("question", ""),
                row_count=result.row_count,
                truncated=cut_note(result),
                result=result_for_llm(result, scope.deps.settings.summary_rows, privacy=privacy),
            )
        ),
    ]
    try:
        text, usage = await scope.deps.llm.text(messages, business_id=scope.business_id)
    except (LlmUnavailable, RateLimited):  # the rows already ran: never throw them away for a summary
        return plain_summary(result, privacy=privacy), None
    return text or plain_summary(result, privacy=privacy), usage.as_metadata()


async def respond(
    state: State,
    runtime: Runtime[Context],
) -> State:
    scope = await begin(runtime)
    raw = state.get("result")
    result = QueryResult.model_validate(raw) if raw is not None else None
    update: State = {}
    if state.get("error") or result is None:
        answer, chart = state.get("answer") or error_answer(state), None  # a budget refusal wrote its own
    else:
        answer, usage = await summarize(scope, state, result)
        if usage is not None:
            update["usage"] = usage
        chart = chart_spec(result.columns, result.rows, title=state.get("question", ""))
    error = state.get("error")
    message = answer_message(
        answer,
        intent=state.get("intent") or "database",
        sql=state.get("sql", ""),
        row_count=result.row_count if result else None,
        source=state.get("source", "llm"),
        error=error["code"] if error else None,
    )
    return {**update, "answer": answer, "chart": chart, "messages": [message]}
