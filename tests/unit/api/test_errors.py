"""What a client sees when anything fails: one JSON shape, the right status, never a stack trace."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from bizsql.api.errors import install_error_handlers
from bizsql.api.middleware import (
    BodyLimitMiddleware,
    JsonDepthMiddleware,
    RequestContextMiddleware,
    json_depth,
    security_headers,
)
from bizsql.errors import (
    AuthFailed,
    BizsqlError,
    LlmUnavailable,
    MemoryUnavailable,
    NotFound,
    QueryFailed,
    QueryTimeout,
    RateLimited,
    SqlRejected,
    TenantDenied,
)

BODY_LIMIT = 2048
DEPTH_LIMIT = 8


class Echo(BaseModel):
    message: str = Field(min_length=1, max_length=5)
    password: str


def make_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(JsonDepthMiddleware, max_depth=DEPTH_LIMIT)
    app.add_middleware(BodyLimitMiddleware, max_bytes=BODY_LIMIT)
    app.add_middleware(RequestContextMiddleware, extra_headers=security_headers(0))

    @app.get("/raise/{name}")
    async def raise_named(name: str) -> None:
        raise ERRORS[name]

    @app.get("/crash")
    async def crash() -> None:
        raise RuntimeError("secret internals: /srv/app/db.py line 12")

    @app.post("/echo")
    async def echo(body: Echo) -> Echo:
        return body

    @app.post("/parse")
    async def parse(request: Request) -> Any:
        """Parses the body itself, as our LangServe envelope check does (any parsing crash is a 500)."""
        return json.loads(await request.body())

    return app


ERRORS: dict[str, BizsqlError] = {
    "sql": SqlRejected("DROP is not allowed"),
    "query": QueryFailed("column x does not exist"),
    "timeout": QueryTimeout("statement timeout after 5000 ms"),
    "tenant": TenantDenied("not your business"),
    "missing": NotFound("unknown business 'nope'"),
    "llm": LlmUnavailable("no LLM is configured"),
    "memory": MemoryUnavailable("both conversation stores are down"),
    "limited": RateLimited("too many chat turns", retry_after=17),
    "auth": AuthFailed("token expired"),
}


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(make_app(), raise_server_exceptions=False)


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        ("sql", 400, "sql_rejected"),
        ("query", 422, "query_failed"),
        ("timeout", 504, "query_timeout"),
        ("tenant", 403, "forbidden"),
        ("missing", 404, "not_found"),
        ("llm", 503, "llm_unavailable"),
        ("memory", 503, "memory_unavailable"),
        ("limited", 429, "rate_limited"),
        ("auth", 401, "unauthorized"),
    ],
)
def test_typed_errors_map_to_their_status_and_code(
    client: TestClient, name: str, status: int, code: str
) -> None:
    response = client.get(f"/raise/{name}")
    assert response.status_code == status
    assert response.json() == {"error": code, "detail": ERRORS[name].detail}


def test_rate_limited_says_when_to_retry(client: TestClient) -> None:
    assert client.get("/raise/limited").headers["retry-after"] == "17"


def test_unauthorized_asks_for_a_bearer_token(client: TestClient) -> None:
    assert client.get("/raise/auth").headers["www-authenticate"] == "Bearer"


def test_unexpected_exception_is_a_json_500_without_internals(client: TestClient) -> None:
    response = client.get("/crash")
    assert response.status_code == 500
    body = response.json()
    assert set(body) == {"error", "detail"}
    assert body["error"] == "internal_error"
    assert response.headers["x-request-id"] in body["detail"]
    assert "secret internals" not in response.text and "Traceback" not in response.text


def test_validation_error_names_the_field_but_never_echoes_input(client: TestClient) -> None:
    response = client.post("/echo", json={"message": "far too long", "password": 12345678})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_request"
    assert "message" in body["detail"] and "password" in body["detail"]
    assert "far too long" not in response.text and "12345678" not in response.text


def test_malformed_json_is_a_422_in_the_same_shape(client: TestClient) -> None:
    response = client.post("/echo", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request"


def test_unknown_route_and_wrong_method_use_the_error_shape(client: TestClient) -> None:
    missing = client.get("/nowhere")
    assert missing.status_code == 404
    assert missing.json() == {"error": "not_found", "detail": "Not Found"}
    wrong = client.delete("/echo")
    assert wrong.status_code == 405
    assert wrong.json()["error"] == "method_not_allowed"
    assert "POST" in wrong.headers["allow"]


def test_every_response_carries_request_id_and_security_headers(client: TestClient) -> None:
    response = client.get("/raise/missing", headers={"X-Request-ID": "trace-123"})
    assert response.headers["x-request-id"] == "trace-123"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
    assert "strict-transport-security" not in response.headers
    assert response.headers["server-timing"].startswith("app;dur=")


def test_a_forged_request_id_is_replaced(client: TestClient) -> None:
    response = client.get("/raise/missing", headers={"X-Request-ID": "bad id\twith spaces"})
    assert response.headers["x-request-id"] != "bad id\twith spaces"
    assert len(response.headers["x-request-id"]) == 32


def test_a_body_over_the_limit_is_refused_unread(client: TestClient) -> None:
    big = {"message": "x", "password": "p" * (BODY_LIMIT + 1)}
    declared = client.post("/echo", json=big)
    assert declared.status_code == 413
    assert declared.json() == {
        "error": "payload_too_large",
        "detail": f"the request body is over {BODY_LIMIT} bytes",
    }

    def chunks() -> Iterator[bytes]:
        yield b'{"message": "x", "password": "'
        for _ in range(10):
            yield b"p" * 512
        yield b'"}'

    streamed = client.post("/echo", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413
    assert streamed.json()["error"] == "payload_too_large"
    assert "x-request-id" in streamed.headers
    assert client.post("/echo", json={"message": "x", "password": "p"}).status_code == 200


@pytest.mark.parametrize("route", ["/echo", "/parse"])
def test_a_deeply_nested_body_is_a_400_before_any_parser_reads_it(client: TestClient, route: str) -> None:
    expected = {
        "error": "bad_request",
        "detail": f"the JSON body is nested too deeply (more than {DEPTH_LIMIT} levels)",
    }
    deep = b"[" * 1000 + b"]" * 1000

    def chunks() -> Iterator[bytes]:
        yield b"[" * (DEPTH_LIMIT - 1)
        yield b"[[" + b"]" * (DEPTH_LIMIT + 1)

    for body in (deep, chunks()):
        response = client.post(route, content=body, headers={"content-type": "application/json"})
        assert response.status_code == 400
        assert response.json() == expected
    assert client.post("/parse", content=b"[" * DEPTH_LIMIT + b"]" * DEPTH_LIMIT).status_code == 200


@pytest.mark.parametrize(
    ("body", "depth"),
    [
        (b"", 0),
        (b"42", 0),
        (b"{}", 1),
        (b'{"a": [1, {"b": []}], "c": [[]]}', 4),
        (b'["[[[", {"{": "}}}"}]', 2),
        (b'["a \\" [[[", "\\\\", [1]]', 2),  # an escaped quote, then an escaped backslash
        (b"[" * 50, 50),  # unclosed: a parser still recurses 50 levels before it fails
        (b'["unclosed [[[[', 1),
        ('["\\"", [[[]]]]'.encode("utf-16"), 4),  # decoded as json.loads decodes bytes
        (b"\xff\xfe\xfd[[[[", 0),  # not JSON in any encoding: the parsers refuse it themselves
    ],
)
def test_json_depth_counts_only_containers_outside_strings(body: bytes, depth: int) -> None:
    assert json_depth(body) == depth


def test_json_depth_agrees_with_the_parser_on_valid_json() -> None:
    def parsed_depth(value: Any) -> int:
        if isinstance(value, dict):
            value = list(value.values())
        return 1 + max(map(parsed_depth, value), default=0) if isinstance(value, list) else 0

    docs = [
        {"input": {"messages": [{"type": "human", "content": 'a "quoted" [x] {y} \\'}]}, "config": {}},
        [[], [[{"k": ["v", {"w": [[["]"]]]}]}]], {}],
        {'\u00e9"[': ["{", ["}"]], "ü": [[[[[]]]]]},
    ]
    for doc in docs:
        for encoded in (json.dumps(doc).encode(), json.dumps(doc, ensure_ascii=False).encode("utf-16")):
            assert json_depth(encoded) == parsed_depth(doc), doc
