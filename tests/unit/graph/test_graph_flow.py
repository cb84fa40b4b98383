"""The turn graph end to end with a scripted LLM, a fake executor and the real guard."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from pymongo.errors import ServerSelectionTimeoutError

from bizsql.errors import QueryTimeout, RateLimited, ServiceUnavailable, TenantDenied
from bizsql.graph.builder import build_graph
from bizsql.graph.context import Context
from bizsql.graph.interfaces import Deps
from bizsql.sql.result import QueryResult
from tests.support.fake_llm import ScriptedChatModel, text_answer, tool_answer
from tests.unit.graph.conftest import Harness, failing_on, rows_result, shop_business

BY_STATE_SQL = "SELECT state, count(*) AS customers FROM customers GROUP BY state"
REQUEST = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")


def classified(question: str, intent: str = "database", clarify: str = "") -> Any:
    return tool_answer(
        "Classification", intent=intent, standalone_question=question, clarifying_question=clarify
    )


def draft(sql: str, confidence: float = 0.8) -> Any:
    return tool_answer("SqlDraft", sql=sql, confidence=confidence, explanation="customers per state")


async def ask(
    graph: Any, harness: Harness, deps: Deps, question: str, *, thread: str = "t1", **who: Any
) -> dict[str, Any]:
    config = {"configurable": {"thread_id": thread}}
    out = await graph.ainvoke(
        {"messages": [HumanMessage(question)]}, config=config, context=harness.context(deps, **who)
    )
    return dict(out)


@pytest.fixture
def graph() -> Any:
    return build_graph(InMemorySaver())


async def test_database_question_runs_the_generated_sql_and_answers(graph: Any, harness: Harness) -> None:
    harness.executor.answer = lambda sql: rows_result(["state", "customers"], [["TX", 3], ["CA", 2]], 2)
    llm = ScriptedChatModel.of(
        classified("How many customers live in each US state?"), draft(BY_STATE_SQL), text_answer("TX leads.")
    )
    out = await ask(graph, harness, harness.deps(llm), "How many customers live in each US state?")

    assert harness.executor.ran == [(BY_STATE_SQL, "alice")]
    assert (out["intent"], out["source"], out["sql"]) == ("database", "llm", BY_STATE_SQL)
    assert out["result"]["rows"] == [["TX", 3], ["CA", 2]]
    assert out["answer"] == "TX leads."
    assert out["chart"]["mark"]["type"] == "bar"
    assert out["usage"]["calls"] == 3
    generate_prompt = llm.prompt_text(1)
    assert "TABLE customers" in generate_prompt
    assert "revenue: sum of orders.total" not in generate_prompt, "a term over a table not shown in full"
    assert "Money is in USD." in generate_prompt, "business instructions"
    assert "Q: How many customers are there in each state?" in generate_prompt, "verified example"
    assert "'TX'" in generate_prompt, "sample values outside privacy mode"
    assert "TX | 3" in llm.prompt_text(2), "rows reach the summary outside privacy mode"
    logged = harness.log.turns[-1]
    assert (logged["thread_id"], logged["sql"], logged["row_count"]) == ("t1", BY_STATE_SQL, 2)
    assert (logged["user_message"], logged["assistant_message"]) == (
        "How many customers live in each US state?",
        "TX leads.",
    )
    assert logged["identity"].username == "alice"


async def test_verified_question_is_answered_with_no_llm_call(graph: Any, harness: Harness) -> None:
    llm = ScriptedChatModel.of()
    out = await ask(graph, harness, harness.deps(llm), "how many customers are there in each state")
    assert llm.prompts == []
    assert out["source"] == "verified"
    assert out["sql"] == shop_business().verified_queries[0].sql
    assert out["answer"].startswith("Answered with the verified query")
    assert out["usage"]["calls"] == 0


async def test_without_an_llm_verified_questions_answer_and_others_are_declined(
    graph: Any, harness: Harness
) -> None:
    deps = harness.deps(llm=None)
    verified = await ask(graph, harness, deps, "How many customers are there in each state?")
    assert verified["source"] == "verified" and verified["result"] is not None

    other = await ask(graph, harness, deps, "Which supplier is in Peru?", thread="t2")
    assert other["intent"] == "unavailable"
    assert "No LLM is configured" in other["answer"]
    assert "How many customers are there in each state?" in other["answer"], "says what still works"
    assert other["error"]["code"] == "llm_unavailable"
    assert len(harness.executor.ran) == 1


async def test_general_question_never_touches_the_database(graph: Any, harness: Harness) -> None:
    llm = ScriptedChatModel.of(
        classified("hello, who are you?", "general"), text_answer("I am your data helper.")
    )
    out = await ask(graph, harness, harness.deps(llm), "hello, who are you?")
    assert out["answer"] == "I am your data helper."
    assert harness.executor.ran == []
    assert harness.source.fingerprints == harness.source.describes == 0


async def test_vague_question_gets_one_clarifying_question(graph: Any, harness: Harness) -> None:
    llm = ScriptedChatModel.of(classified("show me the numbers", "clarify", "Which numbers: sales or stock?"))
    out = await ask(graph, harness, harness.deps(llm), "show me the numbers")
    assert (out["intent"], out["answer"]) == ("clarify", "Which numbers: sales or stock?")
    assert out["messages"][-1].content == "Which numbers: sales or stock?"
    assert harness.executor.ran == []


async def test_a_database_error_goes_back_to_the_llm_with_the_error(graph: Any, harness: Harness) -> None:
    harness.executor.answer = failing_on("totl")
    llm = ScriptedChatModel.of(
        classified("Total spend per state"),
        draft("SELECT state, sum(totl) FROM customers GROUP BY 1"),
        draft(BY_STATE_SQL),
        text_answer("Fixed."),
    )
    out = await ask(graph, harness, harness.deps(llm), "Total spend per state")
    assert [sql for sql, _ in harness.executor.ran] == ["SELECT state, sum(totl) FROM customers GROUP BY 1",
                                                       BY_STATE_SQL]  # fmt: skip
    retry_prompt = llm.prompt_text(2)
    assert 'column "totl" does not exist' in retry_prompt
    assert "sum(totl)" in retry_prompt
    assert (out["attempts"], out["error"], out["answer"]) == (1, None, "Fixed.")


async def test_retries_stop_after_the_configured_number(graph: Any, harness: Harness) -> None:
    harness.executor.answer = failing_on("totl")
    bad = draft("SELECT sum(totl) FROM orders")
    llm = ScriptedChatModel.of(classified("Total spend"), bad, bad, bad)
    out = await ask(graph, harness, harness.deps(llm), "Total spend")
    assert len(harness.executor.ran) == 1 + harness.settings.max_sql_retries
    assert out["error"]["code"] == "query_failed"
    assert out["answer"].startswith("The query failed on the database")
    assert llm.script == [], "no call after the last retry"


async def test_drop_table_is_refused_and_never_retried(graph: Any, harness: Harness) -> None:
    llm = ScriptedChatModel.of(classified("delete the customers table"), draft("DROP TABLE customers"))
    out = await ask(graph, harness, harness.deps(llm), "delete the customers table")
    assert harness.executor.ran == []
    assert out["error"]["code"] == "sql_rejected"
    assert out["answer"].startswith("I can't run that query")
    assert len(llm.prompts) == 2, "classify and generate only: a refusal is not sent back for a retry"


async def test_an_alias_the_query_never_declares_goes_back_to_the_llm_with_the_guards_reason(
    graph: Any, harness: Harness
) -> None:
    harness.executor.answer = lambda sql: rows_result(["channel", "orders"], [["web", 7]], 1)
    fixed = "SELECT o.channel, count(*) AS orders FROM orders AS o GROUP BY o.channel"
    llm = ScriptedChatModel.of(
        classified("Orders per channel"),
        draft("SELECT o.channel, count(*) FROM orders GROUP BY o.channel"),
        draft(fixed),
        text_answer("Web leads."),
    )
    out = await ask(graph, harness, harness.deps(llm), "Orders per channel")

    assert harness.executor.ran == [(fixed, "alice")], "the refused SQL never reached the database"
    retry_prompt = llm.prompt_text(2)
    assert "o.channel: nothing named o here" in retry_prompt
    assert "FROM orders GROUP BY o.channel" in retry_prompt
    assert (out["attempts"], out["error"], out["sql"], out["answer"]) == (1, None, fixed, "Web leads.")


async def test_an_undeclared_alias_is_retried_only_as_often_as_a_database_error(
    graph: Any, harness: Harness
) -> None:
    slip = draft("SELECT x.total FROM orders")
    llm = ScriptedChatModel.of(classified("Order totals"), *[slip] * (1 + harness.settings.max_sql_retries))
    out = await ask(graph, harness, harness.deps(llm), "Order totals")
    assert harness.executor.ran == []
    assert out["error"] == {"code": "sql_rejected", "detail": "x.total: nothing named x here"}
    assert out["answer"].startswith("I can't run that query")
    assert llm.script == [], "no call after the last retry"


async def test_follow_up_is_rewritten_with_the_conversation(graph: Any, harness: Harness) -> None:
    deps = harness.deps(
        llm := ScriptedChatModel.of(
            classified("How many orders were placed in 2024?"),
            draft("SELECT count(*) FROM orders WHERE order_date >= '2024-01-01'"),
            text_answer("There were 1 orders."),
            classified("How many orders were placed in 2024 by customers in Texas?"),
            draft("SELECT count(*) FROM orders JOIN customers c ON c.id = customer_id WHERE state = 'TX'"),
            text_answer("Texas had 1."),
        )
    )
    await ask(graph, harness, deps, "How many orders were placed in 2024?")
    out = await ask(graph, harness, deps, "and only in Texas?")

    classify_prompt = llm.prompt_text(3)
    assert classify_prompt.index("Latest message: and only in Texas?") < classify_prompt.index(
        "User: How many orders were placed in 2024?"
    ), "the current question comes first, the history second"
    assert "SQL used: SELECT count(*) FROM orders WHERE order_date >= '2024-01-01'" in classify_prompt
    assert out["question"] == "How many orders were placed in 2024 by customers in Texas?"
    assert "Question: How many orders were placed in 2024 by customers in Texas?" in llm.prompt_text(4)
    assert len(out["messages"]) == 4


async def test_a_new_turn_starts_clean(graph: Any, harness: Harness) -> None:
    llm = ScriptedChatModel.of(
        classified("Customers per state"), draft(BY_STATE_SQL), text_answer("Done."),
        classified("thanks!", "general"), text_answer("You're welcome."),
    )  # fmt: skip
    deps = harness.deps(llm)
    first = await ask(graph, harness, deps, "Customers per state")
    assert first["result"] is not None
    second = await ask(graph, harness, deps, "thanks!")
    assert (second["sql"], second["result"], second["chart"], second["tables"]) == ("", None, None, [])
    assert second["usage"]["calls"] == 2


async def test_privacy_mode_shows_the_llm_no_row_values(graph: Any, harness: Harness) -> None:
    harness.configs.configs["shop"] = shop_business(privacy_mode=True)
    harness.executor.answer = lambda sql: rows_result(["name", "state"], [["Ada Lovelace", "TX"]], 1)
    llm = ScriptedChatModel.of(
        classified("Who are our customers?"), draft("SELECT name, state FROM customers"), text_answer("One.")
    )
    out = await ask(graph, harness, harness.deps(llm), "Who are our customers?")
    everything = "\n".join(llm.prompt_text(i) for i in range(3))
    assert "Ada Lovelace" not in everything, "neither samples in the schema nor rows in the summary"
    assert "'TX'" not in everything
    assert "1 row(s) with columns: name, state" in llm.prompt_text(2)
    assert out["result"]["rows"] == [["Ada Lovelace", "TX"]], "the user still sees the rows"


async def test_llm_outage_while_writing_sql_gives_a_clear_answer(graph: Any, harness: Harness) -> None:
    outage = httpx.HTTPStatusError("down", request=REQUEST, response=httpx.Response(503, request=REQUEST))
    llm = ScriptedChatModel.of(classified("Customers per state?"), outage, outage)
    out = await ask(graph, harness, harness.deps(llm), "Customers per state?")
    assert out["error"]["code"] == "llm_unavailable"
    assert out["answer"].startswith("I could not answer: ") and "HTTP 503" in out["answer"]
    assert out["intent"] == "database"
    assert harness.executor.ran == []


async def test_a_follow_up_that_becomes_a_verified_question_skips_generation(
    graph: Any, harness: Harness
) -> None:
    harness.executor.answer = lambda sql: rows_result(["customers"], [[5]], 1)
    llm = ScriptedChatModel.of(
        classified("How many customers are there?"),
        draft("SELECT count(*) AS customers FROM customers"),
        text_answer("There are 5."),
        classified("How many customers are there in each state?"),
    )
    deps = harness.deps(llm)
    await ask(graph, harness, deps, "How many customers are there?")
    out = await ask(graph, harness, deps, "and per state?")
    assert out["source"] == "verified"
    assert len(llm.prompts) == 4, "the follow-up needs its classification only"


async def test_a_first_message_is_used_as_written(graph: Any, harness: Harness) -> None:
    harness.executor.answer = lambda sql: rows_result(["state", "customers"], [["TX", 3]], 1)
    llm = ScriptedChatModel.of(
        classified("How many customers are there in each state?"),  # a rewrite nobody asked for
        draft(BY_STATE_SQL),
        text_answer("TX leads."),
    )
    out = await ask(graph, harness, harness.deps(llm), "Customers per state, please")
    assert out["question"] == "Customers per state, please"
    assert out["source"] == "llm", "not sent to the verified query the rewrite would have matched"
    classify_prompt = llm.prompt_text(0)
    assert "standalone" not in classify_prompt and "Earlier turns" not in classify_prompt
    assert "Question: Customers per state, please" in llm.prompt_text(1)


async def test_another_users_business_is_refused(graph: Any, harness: Harness) -> None:
    with pytest.raises(TenantDenied):
        await ask(
            graph, harness, harness.deps(), "How many customers are there in each state?", business="other"
        )


async def test_a_context_without_a_home_business_is_refused(graph: Any, harness: Harness) -> None:
    context = Context(business_id="shop", username="alice", deps=harness.deps())
    with pytest.raises(TenantDenied, match="no home business"):
        await graph.ainvoke(
            {"messages": [HumanMessage("hi")]}, {"configurable": {"thread_id": "x"}}, context=context
        )


async def test_a_thread_stays_with_its_business(graph: Any, harness: Harness) -> None:
    deps = harness.deps()
    await ask(graph, harness, deps, "How many customers are there in each state?", user="root", role="admin")
    with pytest.raises(TenantDenied, match="belongs to business 'shop'"):
        await ask(graph, harness, deps, "hi", user="root", role="admin", business="other")


async def test_identity_can_come_from_configurable_as_langserve_sends_it(
    graph: Any, harness: Harness
) -> None:
    config = {
        "configurable": {
            "thread_id": "ls", "username": "alice", "role": "analyst",
            "business_id": "shop", "home_business": "shop",
        }
    }  # fmt: skip
    out = await graph.ainvoke(
        {"messages": [HumanMessage("How many customers are there in each state?")]},
        config=config,
        context=Context(deps=harness.deps()),
    )
    assert (out["user"], out["business_id"], out["source"]) == ("alice", "shop", "verified")


async def test_an_unwritable_conversation_document_does_not_lose_the_answer(
    graph: Any, harness: Harness
) -> None:
    class Down:
        async def append_turn(self, thread_id: str, turn: Any) -> None:
            raise ServerSelectionTimeoutError("mongo is down")

    deps = harness.deps()
    deps.conversations = Down()  # type: ignore[assignment]
    out = await ask(graph, harness, deps, "How many customers are there in each state?")
    assert out["source"] == "verified" and out["result"] is not None


class BudgetSpentAfter:
    """A daily token budget that allows ``calls`` LLM calls and then refuses, as when it runs out mid-turn."""

    def __init__(self, calls: int) -> None:
        self.left = calls

    async def check(self, business_id: str) -> None:
        if self.left <= 0:
            raise RateLimited("daily token budget spent", retry_after=60)
        self.left -= 1

    async def record(self, business_id: str, usage: Any) -> None:
        return None


async def test_budget_running_out_before_the_summary_still_returns_the_rows(
    graph: Any, harness: Harness
) -> None:
    harness.executor.answer = lambda sql: rows_result(["state", "customers"], [["TX", 3], ["CA", 2]], 2)
    llm = ScriptedChatModel.of(classified("Customers in each US state?"), draft(BY_STATE_SQL))
    deps = harness.deps(llm)
    assert deps.llm is not None
    deps.llm.budget = BudgetSpentAfter(calls=2)
    out = await ask(graph, harness, deps, "Customers in each US state?")

    assert harness.executor.ran == [(BY_STATE_SQL, "alice")]
    assert out["result"]["rows"] == [["TX", 3], ["CA", 2]]
    assert out["error"] is None
    assert "2 row" in out["answer"]


async def test_the_sql_prompt_leaves_out_what_does_not_concern_the_question(
    graph: Any, harness: Harness
) -> None:
    sql = "SELECT count(*) FROM employees WHERE hired_on >= '2024-01-01'"
    question = "How many employees were hired in 2024?"
    llm = ScriptedChatModel.of(classified(question), draft(sql), text_answer("4."))
    await ask(graph, harness, harness.deps(llm), question)
    prompt = llm.prompt_text(1)
    assert "TABLE employees" in prompt and "Money is in USD." in prompt
    assert "Verified examples" not in prompt, "the verified queries are about customers and products"
    assert "glossary" not in prompt, "revenue is neither asked about nor over a table shown in full"
    assert "Recent conversation" not in prompt, "a first question has none"


async def test_a_question_using_a_glossary_term_gets_its_definition(graph: Any, harness: Harness) -> None:
    sql = "SELECT date_trunc('month', order_date), sum(total) FROM orders GROUP BY 1"
    llm = ScriptedChatModel.of(classified("Revenue per month?"), draft(sql), text_answer("Up."))
    await ask(graph, harness, harness.deps(llm), "Revenue per month?")
    assert "- revenue: sum of orders.total" in llm.prompt_text(1)


async def test_a_sql_service_that_does_not_answer_still_ends_the_turn_with_an_answer(
    graph: Any, harness: Harness
) -> None:
    def down(sql: str) -> QueryResult:
        raise ServiceUnavailable("the SQL service does not answer")

    harness.executor.answer = down
    llm = ScriptedChatModel.of(classified("How many customers live in each US state?"), draft(BY_STATE_SQL))
    out = await ask(graph, harness, harness.deps(llm), "How many customers live in each US state?")
    assert out["error"]["code"] == "service_unavailable"
    assert "the SQL service does not answer" in out["answer"]
    assert isinstance(out["messages"][-1], AIMessage), "the question is not left without an answer"
    assert len(llm.prompts) == 2, "no repair attempt and no summary for an outage"


async def test_a_query_that_timed_out_is_not_sent_back_to_be_rewritten(graph: Any, harness: Harness) -> None:
    def slow(sql: str) -> QueryResult:
        raise QueryTimeout("statement timeout (5 s)")

    harness.executor.answer = slow
    llm = ScriptedChatModel.of(classified("How many customers live in each US state?"), draft(BY_STATE_SQL))
    out = await ask(graph, harness, harness.deps(llm), "How many customers live in each US state?")
    assert out["error"]["code"] == "query_timeout"
    assert "took too long" in out["answer"]
    assert len(llm.prompts) == 2 and len(harness.executor.ran) == 1, "one try: a rewrite would time out too"
