"""What operators rely on: /metrics, JSON logs with request ids and no secrets, CORS and headers, and an
API that answers schemathesis's generated requests without a 5xx or a response outside its schema."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bizsql.config import Settings
from bizsql.embedded import ValkeyServer
from tests.integration.api.conftest import PASSWORD, MakeUser, serve, verified_question
from tests.integration.api.live import LiveServer, live_server, server_env
from tests.support.stub_mistral import StubMistral, tool

pytestmark = pytest.mark.integration

Headers = dict[str, dict[str, str]]
SCHEMATHESIS_EXAMPLES = 8


def metric(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


async def test_metrics_count_requests_llm_tokens_and_sql_refusals(
    client: httpx.AsyncClient, headers: Headers, llm: StubMistral
) -> None:
    before = (await client.get("/metrics")).text
    llm.script(
        tool("Classification", intent="database", standalone_question="Drop the orders table"),
        tool("SqlDraft", sql="DROP TABLE orders", confidence=0.9, explanation="Drops orders."),
    )
    response = await client.post("/chat", json={"message": "Drop the orders table"}, headers=headers["dave"])
    assert response.status_code == 200, response.text
    assert response.json()["error"]["code"] == "sql_rejected" and response.json()["rows"] == []
    thread = response.json()["thread_id"]
    await client.get(f"/conversations/{thread}", headers=headers["dave"])
    after = (await client.get("/metrics")).text

    def grew(name: str, **labels: str) -> float:
        return metric(after, name, **labels) - metric(before, name, **labels)

    assert grew("bizsql_sql_refusals_total", business="acme_retail") == 1
    assert grew("bizsql_llm_calls_total", business="acme_retail") == 2
    assert grew("bizsql_llm_tokens_total", business="acme_retail", kind="input") > 0
    assert grew("bizsql_http_requests_total", route="/chat", status="200") == 1
    assert grew("bizsql_http_requests_total", route="/conversations/{thread_id}", status="200") == 1
    assert grew("bizsql_http_request_duration_seconds_count", route="/chat") == 1
    assert grew("bizsql_chat_turns_total", business="acme_retail", intent="database") == 1
    assert metric(after, "bizsql_memory_reads_total") > 0
    assert thread not in after


async def test_cors_allows_only_the_configured_origins(api_settings: Settings) -> None:
    settings = api_settings.model_copy(update={"cors_origins": ["https://app.example.com"]})
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    async with serve(settings) as client:
        allowed = await client.options("/chat", headers={"Origin": "https://app.example.com", **preflight})
        denied = await client.options("/chat", headers={"Origin": "https://evil.example.com", **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "access-control-allow-origin" not in denied.headers


async def test_security_headers_follow_the_settings(api_settings: Settings) -> None:
    async with serve(api_settings.model_copy(update={"hsts_seconds": 31536000})) as client:
        on = await client.get("/healthz")
    async with serve(api_settings.model_copy(update={"security_headers": False})) as client:
        off = await client.get("/healthz")
    assert on.headers["x-content-type-options"] == "nosniff" and on.headers["x-frame-options"] == "DENY"
    assert on.headers["strict-transport-security"] == "max-age=31536000"
    assert "x-frame-options" not in off.headers and "x-request-id" in off.headers


async def test_with_redis_down_chats_go_on_but_login_answers_503(
    api_settings: Settings, tmp_path: Path, make_user: MakeUser
) -> None:
    """Tokens already issued keep working and conversations go on from MongoDB; logins wait for Redis."""
    valkey = ValkeyServer("valkey-outage", tmp_path / "valkey")
    settings = api_settings.model_copy(update={"redis_url": valkey.start()})
    user = await make_user()
    try:
        async with serve(settings) as client:
            tokens = (await client.post("/auth/login", json={"username": user, "password": PASSWORD})).json()
            headers = {"Authorization": f"Bearer {tokens['access_token']}"}
            question = verified_question("acme_retail").question
            first = await client.post("/chat", json={"message": question}, headers=headers)
            valkey.stop()
            me = await client.get("/auth/me", headers=headers)
            follow_up = {"message": question, "thread_id": first.json()["thread_id"]}
            chat = await client.post("/chat", json=follow_up, headers=headers)
            login = await client.post("/auth/login", json={"username": user, "password": PASSWORD})
            refresh = await client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
            ready = await client.get("/readyz")
    finally:
        valkey.stop()
    assert me.status_code == 200 and chat.status_code == 200, chat.text
    assert chat.json()["rows"] == first.json()["rows"]
    for response in (login, refresh):
        assert response.status_code == 503
        assert response.json()["error"] == "service_unavailable" and "Redis" in response.json()["detail"]
    assert ready.status_code == 503 and ready.json()["checks"]["redis"].startswith("down")


@pytest.fixture(scope="module")
def live(api_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A real `bizsql serve` (no LLM key: schemathesis must not depend on a script), generous chat limits."""
    folder = tmp_path_factory.mktemp("live")
    env = server_env(api_settings, folder / "data", BIZSQL_CHAT_RATE_PER_MINUTE="100000")
    with live_server(env, folder / "server.log") as server:
        yield server


def test_logs_are_json_lines_with_a_request_id_and_no_secrets(live: LiveServer) -> None:
    with httpx.Client(base_url=live.url, timeout=60) as http:
        bad = http.post("/auth/login", json={"username": "alice", "password": "wrong-" + PASSWORD})
        tokens = http.post("/auth/login", json={"username": "alice", "password": PASSWORD}).json()
        auth = {"Authorization": f"Bearer {tokens['access_token']}"}
        chat = http.post("/chat", json={"message": verified_question("acme_retail").question}, headers=auth)
        http.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert bad.status_code == 401 and chat.status_code == 200
    text = live.log_file.read_text()
    for secret in (PASSWORD, tokens["access_token"], tokens["refresh_token"], auth["Authorization"]):
        assert secret not in text
    lines = live.log_lines()
    chat_id = chat.headers["x-request-id"]
    chat_lines = [line for line in lines if line.get("request_id") == chat_id]
    assert any(line["event"] == "request" and line["route"] == "/chat" for line in chat_lines)
    request_lines = [line for line in lines if line.get("event") in ("request", "login", "login failed")]
    assert len(request_lines) >= 5 and all(line.get("request_id") for line in request_lines)
    assert not [line for line in lines if "uvicorn.access" in str(line.get("logger", ""))]


def test_schemathesis_finds_no_server_error_or_schema_violation(live: LiveServer, tmp_path: Path) -> None:
    """Every operation but logout (it would revoke the token the run uses), as an admin."""
    with httpx.Client(base_url=live.url, timeout=60) as http:
        token = http.post("/auth/login", json={"username": "admin", "password": PASSWORD}).json()[
            "access_token"
        ]
    checks = "not_a_server_error,response_schema_conformance,content_type_conformance,status_code_conformance"
    run = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "run", f"{live.url}/openapi.json",
         "--header", f"Authorization: Bearer {token}", "--checks", checks,
         "--max-examples", str(SCHEMATHESIS_EXAMPLES), "--seed", "7", "--workers", "1",
         "--exclude-path", "/auth/logout", "--request-timeout", "60", "--no-shrink",
         "--report", "junit", "--report-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
