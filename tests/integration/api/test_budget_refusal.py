"""Over its daily token budget, a business's LLM questions get a whole turn (200) saying when it resets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from pymongo import AsyncMongoClient

from bizsql.auth import budget
from bizsql.config import Settings
from bizsql.stores.mongo import BUSINESS_CONFIGS
from tests.integration.api.conftest import rows_of, sse_events, verified_question
from tests.support.stub_mistral import StubMistral

pytestmark = pytest.mark.integration

Headers = dict[str, dict[str, str]]
QUESTION = "Which trucks need maintenance soon?"
BUDGET_SPENT = "Today's AI budget for Swift Logistics is used up"


@pytest.fixture
async def swift_over_budget(api_settings: Settings) -> AsyncIterator[None]:
    """swift_logistics has already spent today's token budget (from its business config)."""
    key = f"{budget.PREFIX}:swift_logistics:{datetime.now(UTC):%Y-%m-%d}"
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(api_settings.mongo_url)
    config = await mongo[api_settings.mongo_db][BUSINESS_CONFIGS].find_one({"business_id": "swift_logistics"})
    await mongo.close()
    assert config is not None and config["daily_token_budget"]
    client = aioredis.Redis.from_url(api_settings.redis_url or "")
    await client.set(key, config["daily_token_budget"])
    try:
        yield
    finally:
        await client.delete(key)
        await client.aclose()


def assert_refused_turn(body: dict[str, Any]) -> None:
    assert (body["intent"], body["error"]["code"]) == ("unavailable", "rate_limited"), body
    assert "daily LLM budget" in body["error"]["detail"]
    assert BUDGET_SPENT in body["answer"] and "midnight UTC (in about" in body["answer"]
    assert verified_question("swift_logistics").question in body["answer"], "says what still works"
    assert (body["sql"], body["rows"]) == (None, [])


async def test_over_budget_a_question_is_answered_and_kept_whole_in_the_thread(
    client: httpx.AsyncClient,
    headers: Headers,
    llm: StubMistral,
    swift_over_budget: None,
    api_settings: Settings,
) -> None:
    carol = headers["carol"]
    refused = await client.post("/chat", json={"message": QUESTION}, headers=carol)
    assert refused.status_code == 200, refused.text
    assert "retry-after" not in refused.headers, "a finished turn, not a request to send again"
    body = refused.json()
    assert_refused_turn(body)
    assert llm.requests == []

    thread_id = body["thread_id"]
    thread = (await client.get(f"/conversations/{thread_id}", headers=carol)).json()
    assert [(m["role"], m["content"]) for m in thread["messages"]] == [
        ("user", QUESTION),
        ("assistant", body["answer"]),
    ]
    assert thread["messages"][1]["intent"] == "unavailable" and thread["turns"] == 1

    verified = verified_question("swift_logistics")
    answered = await client.post(
        "/chat", json={"message": verified.question, "thread_id": thread_id}, headers=carol
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["rows"] == rows_of(api_settings, "swift_logistics", verified.sql)
    thread = (await client.get(f"/conversations/{thread_id}", headers=carol)).json()
    assert [m["role"] for m in thread["messages"]] == ["user", "assistant", "user", "assistant"]


async def test_over_budget_the_stream_and_langserve_end_with_the_same_answer(
    client: httpx.AsyncClient, headers: Headers, llm: StubMistral, swift_over_budget: None
) -> None:
    carol = headers["carol"]
    streamed = await client.post("/chat/stream", json={"message": QUESTION}, headers=carol)
    assert streamed.status_code == 200
    kind, final = sse_events(streamed.text)[-1]
    assert kind == "final"
    assert_refused_turn(final)

    invoked = await client.post(
        "/graph/invoke",
        json={"input": {"messages": [{"type": "human", "content": QUESTION}]}, "config": {}},
        headers=carol,
    )
    assert invoked.status_code == 200, invoked.text
    output = invoked.json()["output"]
    assert output["error"]["code"] == "rate_limited" and BUDGET_SPENT in output["answer"]
    assert [m["type"] for m in output["messages"]] == ["human", "ai"]
    assert llm.requests == []
