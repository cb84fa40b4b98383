"""Bodies no route can take get a 4xx in the one error shape, on every route that reads a JSON body."""

from __future__ import annotations

import itertools
import json

import httpx
import pytest

from bizsql.api.middleware import MAX_JSON_DEPTH
from tests.integration.api.conftest import MakeUser, login

pytestmark = pytest.mark.integration

Headers = dict[str, dict[str, str]]
DEEP = 100_000
DEEP_BODIES = {
    "arrays": "[" * DEEP + "]" * DEEP,
    "objects": '{"a":' * DEEP + "1" + "}" * DEEP,
    "unclosed arrays": "[" * DEEP,
    "in the envelope": '{"input": {"messages": ' + "[" * DEEP + "]" * DEEP + "}}",
}
CONTENT_TYPES = ({"Content-Type": "application/json"}, {"Content-Type": "text/plain"})  # LangServe reads both


async def json_routes(client: httpx.AsyncClient) -> list[str]:
    """Every documented route that takes a body (all of them JSON), so a new one is covered here too."""
    paths = (await client.get("/openapi.json")).json()["paths"]
    routes = [
        path.replace("{config_hash}", "e30")
        for path, operations in paths.items()
        if "requestBody" in operations.get("post", {})
    ]
    assert {"/auth/login", "/chat", "/chat/stream", "/debug/sql", "/graph/invoke", "/graph/batch"} <= set(
        routes
    )
    assert {"/graph/stream", "/graph/stream_events", "/graph/c/e30/invoke"} <= set(routes)
    return routes


async def test_a_deeply_nested_body_is_a_400_on_every_json_route(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    """As an admin of its own, so /debug/* reads the body and no route signs a shared user out."""
    admin = await login(client, await make_user(role="admin", business_id="all"))
    expected = {
        "error": "bad_request",
        "detail": f"the JSON body is nested too deeply (more than {MAX_JSON_DEPTH} levels)",
    }
    wrong = []
    for route in await json_routes(client):
        for (name, body), content_type in itertools.product(DEEP_BODIES.items(), CONTENT_TYPES):
            response = await client.post(route, content=body, headers={**admin, **content_type})
            if response.status_code != 400 or response.json() != expected:
                wrong.append((route, name, content_type, response.status_code, response.text[:120]))
    assert wrong == []


async def test_brackets_inside_strings_are_text_not_nesting(
    client: httpx.AsyncClient, headers: Headers
) -> None:
    """A string full of brackets (and an escaped quote) is read as usual: the schema answers, 422 here."""
    body = json.dumps({"message": '[{ say "' + "[" * 3000, "extra": 1})
    response = await client.post(
        "/chat", content=body, headers={**headers["alice"], "Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text[:300]
    assert response.json()["error"] == "invalid_request"


async def test_a_body_at_the_depth_limit_is_read_as_usual(
    client: httpx.AsyncClient, headers: Headers
) -> None:
    """Nesting up to the limit is judged by the route's own schema (422); one level more is refused."""

    async def chat_nesting(levels: int) -> httpx.Response:
        inner = levels - 1  # the body's own object is a level
        return await client.post(
            "/chat", content='{"message": ' + "[" * inner + "]" * inner + "}",
            headers={**headers["alice"], "Content-Type": "application/json"},
        )  # fmt: skip

    at_limit = await chat_nesting(MAX_JSON_DEPTH)
    assert at_limit.status_code == 422, at_limit.text[:300]
    assert at_limit.json()["error"] == "invalid_request"
    over = await chat_nesting(MAX_JSON_DEPTH + 1)
    assert over.status_code == 400 and over.json()["error"] == "bad_request", over.text[:300]
