"""Business isolation through every door: /chat, /chat/stream, LangServe, conversations and /debug."""

from __future__ import annotations

import json
import secrets
from typing import Any

import httpx
import pytest
from langserve.lzstring import LZString
from pymongo import AsyncMongoClient

from bizsql.config import Settings
from bizsql.stores.mongo import CONVERSATIONS
from tests.integration.api.conftest import rows_of, verified_question

pytestmark = pytest.mark.integration

Headers = dict[str, dict[str, str]]
BUSINESSES = ("acme_retail", "city_clinic", "swift_logistics")


@pytest.fixture(scope="module")
async def bob_thread(client: httpx.AsyncClient, headers: Headers) -> str:
    """A thread bob started in his own business."""
    question = verified_question("city_clinic").question
    response = await client.post("/chat", json={"message": question}, headers=headers["bob"])
    assert response.status_code == 200, response.text
    return str(response.json()["thread_id"])


def graph_body(message: str, **configurable: Any) -> dict[str, Any]:
    return {
        "input": {"messages": [{"type": "human", "content": message}]},
        "config": {"configurable": configurable},
    }


async def test_alice_asking_for_city_clinic_gets_403_through_every_route(
    client: httpx.AsyncClient, headers: Headers
) -> None:
    question = verified_question("city_clinic").question
    alice = headers["alice"]
    responses = [
        await client.post("/chat", json={"message": question, "business_id": "city_clinic"}, headers=alice),
        await client.post(
            "/chat/stream", json={"message": question, "business_id": "city_clinic"}, headers=alice
        ),
        await client.post(
            "/graph/invoke", json=graph_body(question, business_id="city_clinic"), headers=alice
        ),
        await client.post(
            "/graph/stream", json=graph_body(question, business_id="city_clinic"), headers=alice
        ),
        await client.post(
            "/graph/batch",
            json={
                "inputs": [graph_body(question)["input"]],
                "config": {"configurable": {"business_id": "city_clinic"}},
            },
            headers=alice,
        ),
        await client.get("/conversations", params={"business_id": "city_clinic"}, headers=alice),
    ]
    for response in responses:
        assert response.status_code == 403, (response.request.url, response.text)
        assert response.json()["error"] == "forbidden"
        assert "city_clinic" in response.json()["detail"]


async def test_alice_asking_for_bobs_thread_gets_403_through_every_route(
    client: httpx.AsyncClient, headers: Headers, bob_thread: str
) -> None:
    alice = headers["alice"]
    responses = [
        await client.post("/chat", json={"message": "and in 2024?", "thread_id": bob_thread}, headers=alice),
        await client.post(
            "/chat/stream", json={"message": "and in 2024?", "thread_id": bob_thread}, headers=alice
        ),
        await client.post(
            "/graph/invoke", json=graph_body("and in 2024?", thread_id=bob_thread), headers=alice
        ),
    ]
    for response in responses:
        assert response.status_code == 403, (response.request.url, response.text)
        assert response.json()["error"] == "forbidden"
    mine = await client.get(f"/conversations/{bob_thread}", headers=headers["bob"])
    assert mine.status_code == 200 and mine.json()["turns"] == 1


async def test_someone_elses_conversation_answers_exactly_like_one_that_does_not_exist(
    client: httpx.AsyncClient, headers: Headers, bob_thread: str
) -> None:
    """A 403 would confirm to alice that bob's thread id exists."""
    alice = headers["alice"]
    unknown = f"nobody-{secrets.token_hex(6)}"
    for method in ("GET", "DELETE"):
        theirs = await client.request(method, f"/conversations/{bob_thread}", headers=alice)
        missing = await client.request(method, f"/conversations/{unknown}", headers=alice)
        assert (theirs.status_code, missing.status_code) == (404, 404), (method, theirs.text)
        assert theirs.json() == {"error": "not_found", "detail": f"no conversation {bob_thread}"}
        assert missing.json() == {"error": "not_found", "detail": f"no conversation {unknown}"}
    mine = await client.get(f"/conversations/{bob_thread}", headers=headers["bob"])
    assert mine.status_code == 200 and mine.json()["turns"] == 1
    assert (await client.get(f"/conversations/{bob_thread}", headers=headers["admin"])).status_code == 200


async def test_identity_sent_in_langserve_config_is_ignored(
    client: httpx.AsyncClient, headers: Headers, api_settings: Settings
) -> None:
    question = verified_question("acme_retail").question
    thread_id = f"spoof-{secrets.token_hex(6)}"
    spoof = graph_body(
        question, thread_id=thread_id, username="bob", role="admin", home_business="all", user="bob"
    )
    response = await client.post("/graph/invoke", json=spoof, headers=headers["alice"])
    assert response.status_code == 200, response.text
    assert response.json()["output"]["business_id"] == "acme_retail"
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(api_settings.mongo_url)
    doc = await mongo[api_settings.mongo_db][CONVERSATIONS].find_one({"thread_id": thread_id})
    await mongo.close()
    assert doc is not None
    assert (doc["user"], doc["business_id"]) == ("alice", "acme_retail")


async def test_admin_reaches_all_three_businesses(
    client: httpx.AsyncClient, headers: Headers, api_settings: Settings
) -> None:
    for business in BUSINESSES:
        verified = verified_question(business)
        response = await client.post(
            "/chat", json={"message": verified.question, "business_id": business}, headers=headers["admin"]
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["source"] == "verified"
        assert body["rows"] == rows_of(api_settings, business, verified.sql)
        via_graph = await client.post(
            "/graph/invoke",
            json=graph_body(verified.question, business_id=business),
            headers=headers["admin"],
        )
        assert via_graph.status_code == 200, via_graph.text
        assert via_graph.json()["output"]["result"]["rows"] == body["rows"]


async def test_only_admins_list_everybodys_conversations(
    client: httpx.AsyncClient, headers: Headers, bob_thread: str
) -> None:
    refused = await client.get("/conversations", params={"all_users": "true"}, headers=headers["alice"])
    assert refused.status_code == 403
    listed = await client.get(
        "/conversations", params={"all_users": "true", "business_id": "city_clinic"}, headers=headers["admin"]
    )
    assert bob_thread in [t["thread_id"] for t in listed.json()["threads"]]
    assert {t["business_id"] for t in listed.json()["threads"]} == {"city_clinic"}


async def test_an_unknown_business_is_404_for_an_admin(client: httpx.AsyncClient, headers: Headers) -> None:
    response = await client.post(
        "/chat", json={"message": "hello", "business_id": "no_such_shop"}, headers=headers["admin"]
    )
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "detail": "unknown business 'no_such_shop'"}


@pytest.mark.parametrize("user", ["alice", "dave", "bob"])
async def test_non_admins_get_403_on_every_debug_route(
    client: httpx.AsyncClient, headers: Headers, user: str
) -> None:
    calls = [
        client.get("/debug/cache-stats", headers=headers[user]),
        client.get("/debug/redis-conversation", params={"thread_id": "t1"}, headers=headers[user]),
        client.get("/debug/search-stats", headers=headers[user]),
        client.post(
            "/debug/sql", json={"business_id": "acme_retail", "question": "x"}, headers=headers[user]
        ),
    ]
    for call in calls:
        response = await call
        assert response.status_code == 403, response.request.url
        assert response.json() == {"error": "forbidden", "detail": "this endpoint is for administrators"}


async def test_every_protected_route_needs_a_token(client: httpx.AsyncClient) -> None:
    for method, path in [
        ("POST", "/chat"),
        ("POST", "/chat/stream"),
        ("GET", "/conversations"),
        ("GET", "/debug/cache-stats"),
        ("POST", "/graph/invoke"),
        ("GET", "/graph/input_schema"),
    ]:
        response = await client.request(method, path, json={"message": "hi"} if method == "POST" else None)
        assert response.status_code == 401, path
        assert response.json()["error"] == "unauthorized"
    page = await client.get("/graph/playground/index.html", follow_redirects=False)
    assert (page.status_code, page.headers["location"]) == (303, "/graph/playground-login")  # to sign in


async def test_a_langserve_batch_cannot_run_several_turns_on_one_thread_for_one_rate_limit_hit(
    client: httpx.AsyncClient, headers: Headers
) -> None:
    """One shared config would run every input at once on the same thread, counted as one chat turn."""
    question = verified_question("acme_retail").question
    inputs = [graph_body(question)["input"], graph_body(question)["input"]]
    thread = f"batch-{secrets.token_hex(6)}"
    shared = {"configurable": {"thread_id": thread}}
    bodies = [
        {"inputs": inputs},
        {"inputs": inputs, "config": {}},
        {"inputs": inputs, "config": shared},
        {"inputs": inputs, "config": [shared, shared]},
    ]
    for body in bodies:
        response = await client.post("/graph/batch", json=body, headers=headers["alice"])
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"] == "invalid_request"
    ok = await client.post(
        "/graph/batch", json={"inputs": inputs, "config": [{}, {}]}, headers=headers["alice"]
    )
    assert ok.status_code == 200, ok.text
    assert [out["business_id"] for out in ok.json()["output"]] == ["acme_retail", "acme_retail"]


async def test_a_batch_under_a_config_hash_cannot_run_several_turns_on_the_urls_thread(
    client: httpx.AsyncClient, headers: Headers
) -> None:
    """The thread id in /graph/c/{config_hash}/batch goes to every input that names none of its own."""
    question = verified_question("acme_retail").question
    inputs = [graph_body(question)["input"], graph_body(question)["input"]]
    thread, other = f"hash-{secrets.token_hex(6)}", f"own-{secrets.token_hex(6)}"
    url = f"/graph/c/{config_hash(thread_id=thread)}/batch"
    own = {"configurable": {"thread_id": other}}
    bodies = [
        {"inputs": inputs, "config": [{}, {}]},
        {"inputs": inputs, "config": [{"configurable": {"thread_id": thread}}, {}]},
        {"inputs": inputs, "config": [own, own]},
    ]
    for body in bodies:
        response = await client.post(url, json=body, headers=headers["alice"])
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"] == "invalid_request"
        assert "thread" in response.json()["detail"]
    assert (await client.get(f"/conversations/{thread}", headers=headers["alice"])).status_code == 404
    ok = await client.post(url, json={"inputs": inputs, "config": [own, {}]}, headers=headers["alice"])
    assert ok.status_code == 200, ok.text
    for thread_id in (thread, other):
        one = await client.get(f"/conversations/{thread_id}", headers=headers["alice"])
        assert one.status_code == 200 and one.json()["turns"] == 1
    business_only = {"configurable": {"business_id": "acme_retail"}}
    fresh = await client.post(
        url, json={"inputs": inputs, "config": [business_only, {}]}, headers=headers["alice"]
    )
    assert fresh.status_code == 200, "an input config naming no thread replaces the URL's: no shared thread"


def config_hash(**configurable: Any) -> str:
    """A config as LangServe's client puts it in the URL."""
    return str(LZString.compressToEncodedURIComponent(json.dumps({"configurable": configurable})))
