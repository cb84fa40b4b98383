"""The admin's /debug views show real figures from Redis, the checkpointer, FAISS and the SQL guard."""

from __future__ import annotations

import httpx
import pytest

from bizsql.config import Settings
from tests.integration.api.conftest import verified_question
from tests.support.stub_mistral import StubMistral, text, tool

pytestmark = pytest.mark.integration

Headers = dict[str, dict[str, str]]


async def test_cache_stats_count_conversation_reads_served_from_redis(
    client: httpx.AsyncClient, headers: Headers
) -> None:
    before = (await client.get("/debug/cache-stats", headers=headers["admin"])).json()
    question = verified_question("acme_retail", 2).question
    first = (await client.post("/chat", json={"message": question}, headers=headers["dave"])).json()
    again = {"message": question, "thread_id": first["thread_id"]}
    assert (await client.post("/chat", json=again, headers=headers["dave"])).status_code == 200
    after = (await client.get("/debug/cache-stats", headers=headers["admin"])).json()
    cache = after["conversation_cache"]
    assert cache["hits"] > before["conversation_cache"]["hits"]
    assert cache["new_threads"] > before["conversation_cache"]["new_threads"]
    assert 0 < cache["hit_ratio"] <= 1 and cache["ttl_seconds"] == 3600
    redis = after["redis"]
    assert redis["keys"] > 0 and redis["used_memory_bytes"] > 0
    assert redis["keyspace_hits"] > before["redis"]["keyspace_hits"]


async def test_redis_conversation_shows_the_thread_and_its_ttl(
    client: httpx.AsyncClient, headers: Headers
) -> None:
    question = verified_question("city_clinic", 1).question
    thread = (await client.post("/chat", json={"message": question}, headers=headers["bob"])).json()[
        "thread_id"
    ]
    view = (
        await client.get("/debug/redis-conversation", params={"thread_id": thread}, headers=headers["admin"])
    ).json()
    assert view["cached"] is True
    assert 0 < view["ttl_seconds"] <= view["configured_ttl_seconds"] == 3600
    assert view["fields"]["checkpoints"] >= 1
    latest = view["latest_checkpoint"]
    assert latest["messages"] == 2 and latest["last_message"]["type"] == "ai"
    assert {k["type"] for k in view["keys"]} >= {"hash", "zset"}
    unknown = await client.get(
        "/debug/redis-conversation", params={"thread_id": "never-used"}, headers=headers["admin"]
    )
    assert unknown.json()["cached"] is False and unknown.json()["keys"] == []


async def test_search_stats_report_each_business_index(
    client: httpx.AsyncClient, headers: Headers, llm: StubMistral
) -> None:
    llm.script(
        tool(
            "Classification", intent="database", standalone_question="Which drivers have the most shipments?"
        ),
        tool("SqlDraft", sql="SELECT count(*) FROM drivers", confidence=0.5, explanation="Drivers."),
        text("There are some drivers."),
    )
    response = await client.post(
        "/chat", json={"message": "Which drivers have the most shipments?"}, headers=headers["carol"]
    )
    assert response.status_code == 200, response.text
    stats = (await client.get("/debug/search-stats", headers=headers["admin"])).json()["businesses"][
        "swift_logistics"
    ]
    assert stats["searches"] >= 1 and stats["tables"] > 0 and stats["vectors"] == stats["tables"]
    assert stats["search_ms"]["p50"] is not None and stats["rebuilds"] >= 1


async def test_debug_sql_generates_and_validates_without_running(
    client: httpx.AsyncClient, headers: Headers, llm: StubMistral
) -> None:
    sql = "SELECT name, price FROM products ORDER BY price DESC LIMIT 3"
    llm.script(tool("SqlDraft", sql=sql, confidence=0.9, explanation="Priciest products."))
    body = {"business_id": "acme_retail", "question": "What are our three most expensive products?"}
    response = await client.post("/debug/sql", json=body, headers=headers["admin"])
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["sql"].startswith("SELECT name, price FROM products")
    assert result["verdict"]["allowed"] is True and "products" in result["verdict"]["tables"]
    assert "products" in result["tables"] and "products" in result["schema_context"]
    assert [r["tools"][0]["function"]["name"] for r in llm.requests] == ["SqlDraft"]


async def test_debug_sql_shows_the_guards_refusal(
    client: httpx.AsyncClient, headers: Headers, llm: StubMistral
) -> None:
    llm.script(tool("SqlDraft", sql="DROP TABLE orders", confidence=0.9, explanation="Remove orders."))
    body = {"business_id": "acme_retail", "question": "Please delete the orders table"}
    result = (await client.post("/debug/sql", json=body, headers=headers["admin"])).json()
    assert result["verdict"]["allowed"] is False and result["verdict"]["reason"]


async def test_debug_sql_uses_a_verified_query_without_the_llm(
    client: httpx.AsyncClient, headers: Headers, llm: StubMistral
) -> None:
    verified = verified_question("swift_logistics", 1)
    body = {"business_id": "swift_logistics", "question": verified.question}
    result = (await client.post("/debug/sql", json=body, headers=headers["admin"])).json()
    assert (result["source"], result["sql"], result["verdict"]["allowed"]) == ("verified", verified.sql, True)
    assert llm.requests == []


@pytest.mark.parametrize("too_long", [False, True], ids=["blank", "too long"])
async def test_debug_sql_names_the_question_field_when_it_refuses_the_question(
    client: httpx.AsyncClient, headers: Headers, api_settings: Settings, too_long: bool
) -> None:
    question = "x" * (api_settings.message_max_chars + 1) if too_long else "   "
    body = {"business_id": "acme_retail", "question": question}
    response = await client.post("/debug/sql", json=body, headers=headers["admin"])
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request"
    detail = response.json()["detail"]
    assert detail.startswith("question: question must ") and "message" not in detail
