"""Chat over HTTP against the real graph, stores and demo data, with the stub Mistral server as the LLM."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from pymongo import AsyncMongoClient

from bizsql.auth import budget
from bizsql.config import Settings
from bizsql.stores.mongo import BUSINESS_CONFIGS
from tests.integration.api.conftest import (
    MakeUser,
    login,
    rows_of,
    serve,
    sse_events,
    verified_question,
)
from tests.support import plan_script
from tests.support.stub_mistral import StubMistral, prompt_text, text, tool

pytestmark = pytest.mark.integration

Headers = dict[str, dict[str, str]]
CUSTOMERS_SQL = (
    "SELECT state, count(*) AS customers FROM customers GROUP BY state ORDER BY customers DESC, state"
)
QUESTION = "How many customers live in each state?"
SUMMARY = "California has the most customers, followed by Texas and New York."


def script_database_turn(llm: StubMistral, question: str = QUESTION, sql: str = CUSTOMERS_SQL) -> None:
    llm.script(
        tool("Classification", intent="database", standalone_question=question),
        tool("SqlDraft", sql=sql, confidence=0.8, explanation="Customers per state."),
        text(SUMMARY),
    )


async def spent_today(settings: Settings, business_id: str) -> int:
    client = aioredis.Redis.from_url(settings.redis_url or "")
    try:
        value = await client.get(f"{budget.PREFIX}:{business_id}:{datetime.now(UTC):%Y-%m-%d}")
    finally:
        await client.aclose()
    return int(value or 0)


async def test_a_verified_question_returns_rows_without_any_llm_call(
    client: httpx.AsyncClient, headers: Headers, llm: StubMistral, api_settings: Settings
) -> None:
    verified = verified_question("acme_retail", 1)
    response = await client.post("/chat", json={"message": verified.question}, headers=headers["alice"])
    assert response.status_code == 200, response.text
    body = response.json()
    expected = rows_of(api_settings, "acme_retail", verified.sql)
    assert (body["intent"], body["source"], body["confidence"]) == ("database", "verified", 1.0)
    assert body["rows"] == expected and body["row_count"] == len(expected) > 0
    assert body["sql"] == verified.sql and body["columns"] and body["truncated"] is False
    assert llm.requests == []
    assert response.headers["server-timing"].startswith("app;dur=")
    assert "graph;dur=" in response.headers["server-timing"]


async def test_a_question_for_the_llm_returns_rows_and_counts_its_tokens(
    client: httpx.AsyncClient, headers: Headers, llm: StubMistral, api_settings: Settings
) -> None:
    script_database_turn(llm)
    before = await spent_today(api_settings, "acme_retail")
    response = await client.post("/chat", json={"message": QUESTION}, headers=headers["alice"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["intent"], body["source"], body["answer"]) == ("database", "llm", SUMMARY)
    assert body["rows"] == rows_of(api_settings, "acme_retail", CUSTOMERS_SQL)
    assert body["chart"] is not None and body["confidence"] == 0.8
    usage = body["usage"]
    assert usage["calls"] == 3 and usage["input_tokens"] > 0
    assert (
        await spent_today(api_settings, "acme_retail") - before
        == usage["input_tokens"] + usage["output_tokens"]
    )


async def test_the_stream_sends_progress_then_tokens_then_the_final_result(
    client: httpx.AsyncClient, headers: Headers, llm: StubMistral, api_settings: Settings
) -> None:
    script_database_turn(llm)
    response = await client.post("/chat/stream", json={"message": QUESTION}, headers=headers["alice"])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    kinds = [kind for kind, _ in events]
    nodes = [data["node"] for kind, data in events if kind == "node"]
    assert nodes[:2] == ["load_context", "match_verified"] and "execute" in nodes
    assert kinds[-1] == "final" and kinds.count("final") == 1
    tokens = [data["text"] for kind, data in events if kind == "token"]
    assert len(tokens) > 1 and "".join(tokens) == SUMMARY
    assert nodes.index("execute") < nodes.index("respond")
    executed = next(i for i, event in enumerate(events) if event == ("node", {"node": "execute"}))
    assert (
        executed < kinds.index("token")
        and max(i for i, k in enumerate(kinds) if k == "token") < len(kinds) - 1
    )
    final = events[-1][1]
    assert final["thread_id"] == response.headers["x-thread-id"]
    assert final["rows"] == rows_of(api_settings, "acme_retail", CUSTOMERS_SQL)


async def test_a_follow_up_in_the_thread_sees_the_earlier_turn(
    client: httpx.AsyncClient, headers: Headers, llm: StubMistral
) -> None:
    script_database_turn(llm)
    first = (await client.post("/chat", json={"message": QUESTION}, headers=headers["alice"])).json()
    follow_up = "and only the top 3?"
    sql = CUSTOMERS_SQL + " LIMIT 3"
    script_database_turn(llm, question="How many customers live in each of the top 3 states?", sql=sql)
    second = await client.post(
        "/chat", json={"message": follow_up, "thread_id": first["thread_id"]}, headers=headers["alice"]
    )
    assert second.status_code == 200, second.text
    assert second.json()["row_count"] == 3
    assert QUESTION in prompt_text(llm.requests_for("Classification")[-1])
    thread = (await client.get(f"/conversations/{first['thread_id']}", headers=headers["alice"])).json()
    assert [m["content"] for m in thread["messages"] if m["role"] == "user"] == [QUESTION, follow_up]


async def test_a_thread_continues_after_the_server_restarts(
    api_settings: Settings, llm: StubMistral, make_user: MakeUser
) -> None:
    """Two app instances over the same stores: the second knows the first one's conversation."""
    user = await make_user()
    async with serve(api_settings) as first_server:
        headers = await login(first_server, user)
        script_database_turn(llm)
        first = (await first_server.post("/chat", json={"message": QUESTION}, headers=headers)).json()
    async with serve(api_settings) as second_server:
        script_database_turn(llm, question="Customers per state, top 3", sql=CUSTOMERS_SQL + " LIMIT 3")
        response = await second_server.post(
            "/chat", json={"message": "only the top 3", "thread_id": first["thread_id"]}, headers=headers
        )
        assert response.status_code == 200, response.text
        assert QUESTION in prompt_text(llm.requests_for("Classification")[-1])
        listed = (await second_server.get("/conversations", headers=headers)).json()["threads"]
        assert [(t["thread_id"], t["turns"]) for t in listed] == [(first["thread_id"], 2)]


async def test_the_31st_chat_turn_in_a_minute_gets_429(default_limits: Settings, make_user: MakeUser) -> None:
    user = await make_user()
    question = verified_question("acme_retail").question
    async with serve(default_limits) as client:
        headers = await login(client, user)
        statuses = [
            (await client.post("/chat", json={"message": question}, headers=headers)).status_code
            for _ in range(31)
        ]
    assert statuses == [200] * 30 + [429]


async def test_a_business_config_can_lower_the_chat_limit(
    default_limits: Settings, make_user: MakeUser, api_settings: Settings
) -> None:
    user = await make_user(business_id="city_clinic")
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(api_settings.mongo_url)
    configs = mongo[api_settings.mongo_db][BUSINESS_CONFIGS]
    await configs.update_one({"business_id": "city_clinic"}, {"$set": {"chat_rate_per_minute": 2}})
    try:
        async with serve(default_limits) as client:
            headers = await login(client, user)
            question = verified_question("city_clinic").question
            responses = [
                await client.post("/chat", json={"message": question}, headers=headers) for _ in range(3)
            ]
    finally:
        await configs.update_one({"business_id": "city_clinic"}, {"$set": {"chat_rate_per_minute": None}})
        await mongo.close()
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert "2 a minute" in responses[-1].json()["detail"]


async def test_messages_are_checked_before_anything_runs(
    client: httpx.AsyncClient, headers: Headers, api_settings: Settings, llm: StubMistral
) -> None:
    too_long = "x" * (api_settings.message_max_chars + 1)
    for body in (
        {"message": too_long},
        {"message": "   "},
        {"message": "hi", "extra": 1},
        {"thread_id": "t"},
    ):
        response = await client.post("/chat", json=body, headers=headers["alice"])
        assert response.status_code == 422, body
        assert response.json()["error"] == "invalid_request"
    assert (
        f"at most {api_settings.message_max_chars}"
        in (await client.post("/chat", json={"message": too_long}, headers=headers["alice"])).json()["detail"]
    )
    assert llm.requests == []


async def test_an_admin_may_chat_with_no_business(
    client: httpx.AsyncClient, headers: Headers, llm: StubMistral
) -> None:
    llm.script(
        tool("Classification", intent="general", standalone_question="What can you do?"), text("I answer.")
    )
    response = await client.post("/chat", json={"message": "What can you do?"}, headers=headers["admin"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["intent"], body["answer"], body["sql"], body["rows"]) == ("general", "I answer.", None, [])


async def test_conversations_are_listed_newest_first_in_pages_and_deleted_from_both_stores(
    api_settings: Settings, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    headers = await login(client, user)
    threads = []
    for index in range(3):
        question = verified_question("acme_retail", index).question
        threads.append(
            (await client.post("/chat", json={"message": question}, headers=headers)).json()["thread_id"]
        )
    first_page = (await client.get("/conversations", params={"limit": 2}, headers=headers)).json()
    assert [t["thread_id"] for t in first_page["threads"]] == threads[::-1][:2]
    assert first_page["next_offset"] == 2
    last_page = (await client.get("/conversations", params={"limit": 2, "offset": 2}, headers=headers)).json()
    assert [t["thread_id"] for t in last_page["threads"]] == [threads[0]] and last_page["next_offset"] is None

    admin = await login(client, "admin")
    cached = await client.get("/debug/redis-conversation", params={"thread_id": threads[0]}, headers=admin)
    assert cached.json()["cached"] is True
    assert (await client.delete(f"/conversations/{threads[0]}", headers=headers)).status_code == 204
    assert (await client.get(f"/conversations/{threads[0]}", headers=headers)).status_code == 404
    gone = await client.get("/debug/redis-conversation", params={"thread_id": threads[0]}, headers=admin)
    assert gone.json()["cached"] is False
    assert (await client.delete(f"/conversations/{threads[0]}", headers=headers)).status_code == 404


async def test_a_planned_turn_streams_its_plan_and_each_step_then_the_steps_in_the_final(
    client: httpx.AsyncClient, headers: Headers, llm: StubMistral, api_settings: Settings
) -> None:
    llm.script(*plan_script.planned())
    response = await client.post(
        "/chat/stream", json={"message": plan_script.QUESTION}, headers=headers["alice"]
    )
    assert response.status_code == 200
    events = sse_events(response.text)
    kinds = [kind for kind, _ in events]
    plan = next(data for kind, data in events if kind == "plan")
    assert plan["steps"] == [plan_script.TOP_STORES, plan_script.STAFF, plan_script.STAFF_OF_TOP]
    for index in range(3):
        mine = [kind for kind, data in events if kind.startswith("step_") and data["index"] == index]
        assert mine == ["step_started", "step_sql", "step_rows"], (index, mine)
    started = [i for i, (kind, _) in enumerate(events) if kind == "step_started"]
    assert kinds.index("plan") < min(started)
    last_rows = max(i for i, (kind, _) in enumerate(events) if kind == "step_rows")
    assert last_rows < kinds.index("token") < kinds.index("final") == len(kinds) - 1
    third = next(d for k, d in events if k == "step_rows" and d["index"] == 2)
    final = events[-1][1]
    top = rows_of(api_settings, "acme_retail", plan_script.TOP_STORES_SQL)
    assert final["steps"][0]["rows"] == top
    assert final["steps"][2]["sql"] == plan_script.staff_of([row[0] for row in top])
    assert final["steps"][2]["rows"] == third["rows"] == final["rows"]
    assert set(final["steps"][0]) >= {"question", "sql", "columns", "rows", "row_count", "truncated", "error"}

    thread = await client.get(f"/conversations/{final['thread_id']}", headers=headers["alice"])
    answer = thread.json()["messages"][-1]
    assert [s["sql"] for s in answer["steps"]] == [s["sql"] for s in final["steps"]], "every step is kept"


async def test_a_one_step_answer_has_no_steps(
    client: httpx.AsyncClient, headers: Headers, llm: StubMistral
) -> None:
    script_database_turn(llm)
    body = (await client.post("/chat", json={"message": QUESTION}, headers=headers["alice"])).json()
    assert body["steps"] is None and body["sql"] == CUSTOMERS_SQL


async def test_langserve_stream_events_names_each_step_event_of_a_plan(
    client: httpx.AsyncClient, headers: Headers, llm: StubMistral
) -> None:
    llm.script(*plan_script.planned())
    body = {
        "input": {"messages": [{"type": "human", "content": plan_script.QUESTION}]},
        "config": {"configurable": {}},
        "version": "v2",
    }
    response = await client.post("/graph/stream_events", json=body, headers=headers["alice"])
    assert response.status_code == 200, response.text
    events = [data for kind, data in sse_events(response.text) if kind == "data"]
    custom = [(e["name"], e["data"]["index"]) for e in events if e.get("event") == "on_custom_event"]
    for index in range(3):
        assert [name for name, i in custom if i == index] == ["step_started", "step_sql", "step_rows"]
    nodes = {e["metadata"].get("langgraph_node") for e in events if e.get("event") == "on_chain_start"}
    assert {"plan", "run_step", "start_step", "finish_step", "combine"} <= nodes, (
        "Studio's view: the subgraph"
    )
