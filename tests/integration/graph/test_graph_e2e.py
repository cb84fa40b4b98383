"""The whole turn graph on the demo databases, with ChatMistralAI talking to the stub Mistral server."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from bizsql.charts import validate_spec
from bizsql.config import Settings
from bizsql.graph.clients import build_deps
from bizsql.stores.business import BusinessConfig
from tests.integration.graph.conftest import Chat, query
from tests.support.stub_mistral import StubMistral, prompt_text, text, tool

pytestmark = pytest.mark.integration

TIERS_SQL = (
    "SELECT loyalty_tier, count(*) AS customers FROM customers GROUP BY loyalty_tier ORDER BY loyalty_tier"
)
ONLINE_2025_SQL = (
    "SELECT count(*) AS orders FROM orders WHERE channel = 'online' "
    "AND order_date >= DATE '2025-01-01' AND order_date < DATE '2026-01-01'"
)
ONLINE_2025_GOLD_SQL = (
    "SELECT count(*) AS orders FROM orders o JOIN customers c ON c.id = o.customer_id "
    "WHERE o.channel = 'online' AND o.order_date >= DATE '2025-01-01' AND o.order_date < DATE '2026-01-01' "
    "AND c.loyalty_tier = 'gold'"
)
CHINA_SQL = "SELECT name, rating FROM suppliers WHERE country = 'China' ORDER BY name"


def database(question: str) -> Any:
    return tool("Classification", intent="database", standalone_question=question, clarifying_question="")


def sql(statement: str, confidence: float = 0.9) -> Any:
    return tool("SqlDraft", sql=statement, confidence=confidence, explanation="as asked")


def question_of(request: dict[str, Any]) -> str:
    """The 'Question:' line of a generate_sql request: what the LLM is asked to answer."""
    last = request["messages"][1]["content"]
    return str(last.rsplit("Question: ", 1)[1]).strip()


async def test_a_database_question_returns_the_right_rows(
    chat: Chat, stub: StubMistral, graph_settings: Settings
) -> None:
    question = "How many customers are in each loyalty tier?"
    stub.script(database(question), sql(TIERS_SQL), text("Most customers are bronze."))
    out = await chat.ask(question)

    assert out["result"]["rows"] == query(graph_settings, "acme_retail", TIERS_SQL)
    assert out["result"]["columns"] == ["loyalty_tier", "customers"]
    assert (out["answer"], out["source"], out["error"]) == ("Most customers are bronze.", "llm", None)
    assert "customers" in out["tables"]
    generate = stub.requests_for("SqlDraft")[0]
    assert "TABLE customers" in prompt_text(generate)
    assert "loyalty_tier text" in prompt_text(generate)
    assert generate["tool_choice"] == "any"
    validate_spec(out["chart"])
    assert chat.deps.executor.calls == [TIERS_SQL]  # type: ignore[attr-defined]


async def test_follow_up_is_rewritten_and_keeps_the_filter_then_a_new_question_is_not_merged(
    chat: Chat, stub: StubMistral, graph_settings: Settings
) -> None:
    stub.script(database("How many orders were placed online in 2025?"), sql(ONLINE_2025_SQL), text("Many."))
    await chat.ask("How many orders were placed online in 2025?")

    rewrite = "How many orders were placed online in 2025 by gold tier customers?"
    stub.script(database(rewrite), sql(ONLINE_2025_GOLD_SQL), text("Fewer."))
    follow = await chat.ask("and only by gold tier customers?")
    classify = stub.requests_for("Classification")[1]
    shown = prompt_text(classify)
    assert shown.index("Latest message: and only by gold tier customers?") < shown.index(
        "User: How many orders were placed online in 2025?"
    )
    assert "channel = 'online'" in shown, "the earlier SQL is part of the history the rewrite builds on"
    assert follow["question"] == rewrite
    assert question_of(stub.requests_for("SqlDraft")[1]) == rewrite
    assert follow["result"]["rows"] == query(graph_settings, "acme_retail", ONLINE_2025_GOLD_SQL)
    assert follow["result"]["rows"] != query(graph_settings, "acme_retail", ONLINE_2025_SQL)

    unrelated = "Which suppliers are based in China?"
    stub.script(database(unrelated), sql(CHINA_SQL), text("Several."))
    fresh = await chat.ask(unrelated)
    assert fresh["question"] == unrelated
    assert question_of(stub.requests_for("SqlDraft")[2]) == unrelated
    assert fresh["tables"][0] == "suppliers", "retrieval used the new question, not the earlier ones"
    assert fresh["result"]["rows"] == query(graph_settings, "acme_retail", CHINA_SQL)
    assert len(fresh["messages"]) == 6


async def test_a_general_question_never_touches_the_database(chat: Chat, stub: StubMistral) -> None:
    stub.script(
        tool(
            "Classification", intent="general", standalone_question="What can you do?", clarifying_question=""
        ),
        text("I answer questions about Acme's data."),
    )
    out = await chat.ask("What can you do?")
    assert out["answer"] == "I answer questions about Acme's data."
    assert (out["sql"], out["result"]) == ("", None)
    assert chat.deps.executor.calls == []  # type: ignore[attr-defined]
    assert chat.deps.schema_index.source.calls == []  # type: ignore[attr-defined]
    assert len(stub.requests) == 2


async def test_a_vague_question_gets_a_clarifying_question(chat: Chat, stub: StubMistral) -> None:
    stub.script(
        tool("Classification", intent="clarify", standalone_question="show me the numbers",
             clarifying_question="Which numbers do you mean: sales, stock or customers?")
    )  # fmt: skip
    out = await chat.ask("show me the numbers")
    assert out["intent"] == "clarify"
    assert out["answer"] == "Which numbers do you mean: sales, stock or customers?"
    assert len(stub.requests) == 1
    assert chat.deps.executor.calls == []  # type: ignore[attr-defined]


async def test_a_wrong_column_is_corrected_on_the_retry(
    chat: Chat, stub: StubMistral, graph_settings: Settings
) -> None:
    wrong = "SELECT loyalty_level, count(*) AS customers FROM customers GROUP BY loyalty_level"
    stub.script(database("Customers per loyalty tier"), sql(wrong), sql(TIERS_SQL), text("Done."))
    out = await chat.ask("Customers per loyalty tier")

    retry = stub.requests_for("SqlDraft")[1]
    assert 'column "loyalty_level" does not exist' in prompt_text(retry)
    assert out["attempts"] == 1
    assert out["sql"] == TIERS_SQL
    assert out["result"]["rows"] == query(graph_settings, "acme_retail", TIERS_SQL)
    assert chat.deps.executor.calls == [wrong, TIERS_SQL]  # type: ignore[attr-defined]


async def test_drop_table_is_refused_without_a_retry(
    chat: Chat, stub: StubMistral, graph_settings: Settings
) -> None:
    before = query(graph_settings, "acme_retail", "SELECT count(*) FROM customers")
    stub.script(database("Remove the customers table"), sql("DROP TABLE customers"))
    out = await chat.ask("Remove the customers table")

    assert out["error"]["code"] == "sql_rejected"
    assert "DROP" in out["answer"]
    assert len(stub.requests) == 2, "no request after the refusal"
    assert chat.deps.executor.calls == []  # type: ignore[attr-defined]
    assert query(graph_settings, "acme_retail", "SELECT count(*) FROM customers") == before


async def test_a_verified_question_is_answered_with_no_llm_call(
    chat: Chat, stub: StubMistral, graph_settings: Settings
) -> None:
    verified = (await chat.deps.configs.get("acme_retail")).verified_queries[4]
    out = await chat.ask(verified.question.lower().rstrip("?"))
    assert stub.requests == []
    assert (out["source"], out["sql"]) == ("verified", verified.sql)
    assert out["result"]["rows"] == query(graph_settings, "acme_retail", verified.sql)
    assert out["answer"].startswith("Answered with the verified query")


async def test_without_an_api_key_verified_questions_answer_and_the_rest_is_declined(
    stub: StubMistral, graph_settings: Settings
) -> None:
    deps = build_deps(graph_settings.model_copy(update={"mistral_api_key": None}))
    try:
        chat = Chat(deps)
        verified = (await deps.configs.get("acme_retail")).verified_queries[0]
        answered = await chat.ask(verified.question)
        assert answered["source"] == "verified"
        assert answered["result"]["rows"] == query(graph_settings, "acme_retail", verified.sql)

        declined = await chat.ask("Which employee was hired most recently?")
        assert declined["intent"] == "unavailable"
        assert declined["answer"].startswith("No LLM is configured")
        assert verified.question in declined["answer"]
        assert declined["result"] is None
    finally:
        await deps.aclose()
    assert stub.requests == []


class PrivateConfigs:
    """The real configs, with privacy mode switched on."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def get(self, business_id: str) -> BusinessConfig:
        return (await self.inner.get(business_id)).model_copy(update={"privacy_mode": True})


async def test_privacy_mode_keeps_row_values_away_from_the_llm(chat: Chat, stub: StubMistral) -> None:
    chat.deps = replace(chat.deps, configs=PrivateConfigs(chat.deps.configs))
    names = "SELECT name, email FROM customers ORDER BY id LIMIT 3"
    stub.script(database("Who are our first three customers?"), sql(names), text("Three customers."))
    out = await chat.ask("Who are our first three customers?")
    sent = json.dumps(stub.requests)
    for name, email in out["result"]["rows"]:
        assert name not in sent and email not in sent
    assert "3 row(s) with columns: name, email" in prompt_text(stub.requests[-1])
