"""`bizsql mcp --http`: no request without a token; every call runs as the token's user (an access
token's, or the one user a service token was minted for), with that user's rights.

The server is its own process on the session's servers, sharing the JWT secret and Redis with the tokens
issued here the way POST /auth/login issues them (``TokenService.issue``); logout is ``revoke_user``.
Service tokens are signed here as the graph's MCP client signs them (``ServiceTokens``).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
import jwt
import pytest
import redis.asyncio as aioredis
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, TextContent
from pydantic import SecretStr
from pymongo.asynchronous.database import AsyncDatabase
from structlog.testing import capture_logs

from bizsql.auth.identity import Identity
from bizsql.auth.service_tokens import ServiceTokens
from bizsql.auth.tokens import TokenService
from bizsql.config import Settings
from bizsql.embedded import free_port
from bizsql.errors import AuthFailed, QueryFailed, ServiceUnavailable, SqlRejected, TenantDenied
from bizsql.mcp.client import REFUSED, UNREACHABLE, McpSqlRunner
from bizsql.sql.executor import SqlExecutor
from bizsql.sql.result import QueryResult
from bizsql.stores.business import BusinessConfig
from bizsql.stores.mongo import AUDIT_LOGS, USERS
from tests.integration.sql.conftest import ALICE, BOB

pytestmark = pytest.mark.integration

ADMIN = Identity(username="admin", role="admin", business_id="all")
TOOLS = {"list_tables", "describe_table", "run_sql", "explain_sql"}
SELECT = "SELECT status, count(*) AS n FROM orders GROUP BY status ORDER BY status"
PATIENTS = "SELECT count(*) AS patients FROM patients"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}
Issue = Callable[[Identity], Coroutine[Any, Any, str]]


@pytest.fixture(scope="module")
def http_server(subprocess_env: dict[str, str]) -> Iterator[str]:
    """`bizsql mcp --http PORT` with no default business, reading users afresh on every request."""
    with _mcp_http({**subprocess_env, "BIZSQL_USER_RECHECK_SECONDS": "0"}) as url:
        yield url


@contextmanager
def _mcp_http(env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bizsql.cli", "mcp", "--http", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        _wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"bizsql mcp exited: {process.stderr.read().decode() if process.stderr else ''}"
            )
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"bizsql mcp did not listen on {port}")


@pytest.fixture
async def tokens(seeded: Settings) -> AsyncIterator[TokenService]:
    assert seeded.redis_url
    redis = aioredis.Redis.from_url(seeded.redis_url)
    yield TokenService(seeded, redis)
    await redis.aclose()


@pytest.fixture
def issue(tokens: TokenService) -> Issue:
    """An access token for the user, as POST /auth/login returns it."""

    async def access_token(identity: Identity) -> str:
        return (await tokens.issue(identity)).access_token

    return access_token


@pytest.fixture
async def carl(mongo_db: AsyncDatabase[dict[str, Any]]) -> AsyncIterator[Identity]:
    """An acme_retail analyst of this test alone, so revoking or disabling him touches nobody else."""
    identity = Identity(username=f"carl-{uuid.uuid4().hex[:8]}", role="analyst", business_id="acme_retail")
    await mongo_db[USERS].insert_one(
        {"username": identity.username, "role": identity.role, "business_id": identity.business_id}
    )
    yield identity
    await mongo_db[USERS].delete_one({"username": identity.username})


@asynccontextmanager
async def _session(url: str, token: str) -> AsyncIterator[ClientSession]:
    async with (
        httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http,
        streamable_http_client(url, http_client=http) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


async def _call(url: str, token: str, tool: str, arguments: dict[str, Any]) -> CallToolResult:
    async with _session(url, token) as session:
        return await session.call_tool(tool, arguments)


def _error(result: CallToolResult) -> dict[str, Any]:
    assert result.isError
    text = "".join(c.text for c in result.content if isinstance(c, TextContent))
    body: dict[str, Any] = json.loads(text[text.index("{") :])
    return body


async def _post(url: str, token: str | None) -> httpx.Response:
    headers = {"Accept": "application/json, text/event-stream"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with httpx.AsyncClient() as http:
        return await http.post(url, json=INITIALIZE, headers=headers)


def _assert_refused(response: httpx.Response, detail: str) -> None:
    assert response.status_code == 401, response.text
    assert response.json() == {"error": "unauthorized", "detail": detail}
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')


async def test_a_request_without_a_bearer_token_gets_401_and_a_reason(http_server: str) -> None:
    response = await _post(http_server, None)
    _assert_refused(
        response, "missing bearer token: send Authorization: Bearer <access token from POST /auth/login>"
    )
    assert "Traceback" not in response.text

    runner = McpSqlRunner(http_server, token="")
    with capture_logs() as logs, pytest.raises(ServiceUnavailable) as refused:
        await runner.list_tools()
    assert refused.value.detail == REFUSED == "the SQL service refused this server's credentials"
    assert [(e["event"], e["url"]) for e in logs] == [("mcp_bearer_refused", http_server)]
    assert logs[0]["reason"].startswith("missing bearer token")


async def test_forged_expired_and_refresh_tokens_get_401(
    http_server: str, tokens: TokenService, seeded: Settings
) -> None:
    _assert_refused(await _post(http_server, "not-a-jwt"), "invalid token")

    pair = await tokens.issue(ALICE)
    _assert_refused(await _post(http_server, pair.refresh_token), "invalid token")

    claims = jwt.decode(pair.access_token, options={"verify_signature": False})
    expired = {**claims, "exp": int(time.time()) - 60}
    _assert_refused(await _post(http_server, jwt.encode(expired, seeded.secret_values()[0])), "token expired")
    _assert_refused(
        await _post(http_server, jwt.encode(claims, "another-secret-that-is-long-enough-for-hs256")),
        "invalid token",
    )


async def test_a_session_store_that_does_not_answer_is_a_503_without_a_trace(
    subprocess_env: dict[str, str], issue: Issue
) -> None:
    token = await issue(ALICE)
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    env = {**subprocess_env, "BIZSQL_REDIS_URL": dead_redis, "BIZSQL_REDIS_FAIL_OPEN": "false"}
    with _mcp_http(env) as url:
        response = await _post(url, token)
    assert response.status_code == 503
    assert response.json() == {
        "error": "service_unavailable",
        "detail": "the session store (Redis) does not answer",
    }


async def test_an_analyst_token_queries_its_business_and_is_refused_another(
    http_server: str, issue: Issue
) -> None:
    alice = await issue(ALICE)
    async with _session(http_server, alice) as session:
        assert {tool.name for tool in (await session.list_tools()).tools} == TOOLS
        own = await session.call_tool("run_sql", {"sql": SELECT})
        assert own.structuredContent is not None and own.structuredContent["columns"] == ["status", "n"]
        named = await session.call_tool("run_sql", {"sql": SELECT, "business": "acme_retail"})
        assert named.structuredContent is not None
        assert named.structuredContent["rows"] == own.structuredContent["rows"]

        denied = {"error": "forbidden", "reason": "user 'alice' may not access business 'city_clinic'"}
        for tool, arguments in (
            ("run_sql", {"sql": PATIENTS}),
            ("list_tables", {}),
            ("describe_table", {"table": "patients"}),
            ("explain_sql", {"sql": PATIENTS}),
        ):
            assert _error(await session.call_tool(tool, {**arguments, "business": "city_clinic"})) == denied

        write = await session.call_tool("run_sql", {"sql": "DELETE FROM orders WHERE id = -1"})
        assert _error(write) == {
            "error": "sql_rejected",
            "reason": "alice is an analyst; only editors and admins may write",
        }


async def test_the_server_not_the_client_keeps_a_token_to_its_business(
    http_server: str, issue: Issue, businesses: dict[str, BusinessConfig]
) -> None:
    """Bob may read city_clinic, but the token is alice's: the server refuses, whatever the client thinks."""
    runner = McpSqlRunner(http_server, token=await issue(ALICE))
    with pytest.raises(TenantDenied, match="'alice' may not access business 'city_clinic'"):
        await runner.run(PATIENTS, business=businesses["city_clinic"], identity=BOB)


async def test_a_revoked_or_disabled_users_token_gets_401(
    http_server: str,
    tokens: TokenService,
    carl: Identity,
    mongo_db: AsyncDatabase[dict[str, Any]],
    businesses: dict[str, BusinessConfig],
) -> None:
    token = (await tokens.issue(carl)).access_token
    ok = await _call(http_server, token, "run_sql", {"sql": "SELECT 1 AS one"})
    assert ok.structuredContent is not None and ok.structuredContent["rows"] == [[1]]

    await tokens.revoke_user(carl.username)  # what POST /auth/logout does
    _assert_refused(await _post(http_server, token), "session has ended; log in again")
    runner = McpSqlRunner(http_server, token=token)
    with capture_logs() as logs, pytest.raises(ServiceUnavailable, match=f"^{REFUSED}$"):
        await runner.run("SELECT 1", business=businesses["acme_retail"], identity=carl)
    assert logs[0]["reason"] == "session has ended; log in again"

    again = (await tokens.issue(carl)).access_token
    await mongo_db[USERS].update_one({"username": carl.username}, {"$set": {"disabled": True}})
    _assert_refused(await _post(http_server, again), "this user no longer exists or is disabled")


async def test_a_user_moved_to_another_business_loses_the_old_one_within_an_open_session(
    http_server: str, tokens: TokenService, carl: Identity, mongo_db: AsyncDatabase[dict[str, Any]]
) -> None:
    async with _session(http_server, (await tokens.issue(carl)).access_token) as session:
        before = await session.call_tool("run_sql", {"sql": "SELECT count(*) FROM orders"})
        assert not before.isError
        await mongo_db[USERS].update_one(
            {"username": carl.username}, {"$set": {"business_id": "city_clinic"}}
        )
        after = await session.call_tool(
            "run_sql", {"sql": "SELECT count(*) FROM orders", "business": "acme_retail"}
        )
        assert _error(after)["error"] == "forbidden"
        own = await session.call_tool("run_sql", {"sql": PATIENTS})
        assert own.structuredContent is not None and own.structuredContent["rows"][0][0] > 0


async def test_an_admin_token_names_any_business_and_must_name_one(http_server: str, issue: Issue) -> None:
    admin = await issue(ADMIN)
    clinic = await _call(http_server, admin, "run_sql", {"sql": PATIENTS, "business": "city_clinic"})
    assert clinic.structuredContent is not None and clinic.structuredContent["rows"][0][0] > 0
    retail = await _call(http_server, admin, "list_tables", {"business": "acme_retail"})
    assert retail.structuredContent is not None
    assert "orders" in {t["name"] for t in retail.structuredContent["result"]}

    unnamed = await _call(http_server, admin, "run_sql", {"sql": PATIENTS})
    assert _error(unnamed)["error"] == "not_found"
    unknown = await _call(http_server, admin, "run_sql", {"sql": "SELECT 1", "business": "nope"})
    assert _error(unknown) == {"error": "not_found", "reason": "unknown business 'nope'"}


async def test_an_admin_token_in_the_client_keeps_the_asking_users_rights(
    http_server: str, issue: Issue, businesses: dict[str, BusinessConfig]
) -> None:
    runner = McpSqlRunner(http_server, token=await issue(ADMIN))
    clinic = await runner.run(PATIENTS, business=businesses["city_clinic"], identity=BOB)
    assert clinic.rows[0][0] > 0
    with pytest.raises(TenantDenied):
        await runner.run(PATIENTS, business=businesses["city_clinic"], identity=ALICE)
    with pytest.raises(SqlRejected, match="alice is an analyst"):
        await runner.run(
            "DELETE FROM orders WHERE id = -1", business=businesses["acme_retail"], identity=ALICE
        )
    with pytest.raises(SqlRejected, match="pg_sleep"):
        await runner.run("SELECT pg_sleep(10)", business=businesses["acme_retail"], identity=ALICE)


async def test_graph_uses_the_mcp_server_with_the_configured_token(
    http_server: str, issue: Issue, seeded: Settings, businesses: dict[str, BusinessConfig]
) -> None:
    from bizsql.graph.clients import build_deps

    in_process = build_deps(seeded)
    over_mcp = build_deps(
        seeded.model_copy(update={"mcp_url": http_server, "mcp_token": SecretStr(await issue(ADMIN))})
    )
    try:
        assert isinstance(in_process.executor, SqlExecutor)
        assert isinstance(over_mcp.executor, McpSqlRunner) and over_mcp.executor.service is None
        local = await in_process.executor.run(SELECT, business=businesses["acme_retail"], identity=ALICE)
        remote = await over_mcp.executor.run(SELECT, business=businesses["acme_retail"], identity=ALICE)
        assert isinstance(remote, QueryResult) and remote.rows == local.rows
    finally:
        await in_process.aclose()
        await over_mcp.aclose()


@pytest.fixture
def service(seeded: Settings) -> ServiceTokens:
    """What the graph's MCP client signs with the deployment's JWT secret (the server shares it)."""
    return ServiceTokens(seeded.secret_values()[0])


async def _audited(mongo_db: AsyncDatabase[dict[str, Any]], sql: str) -> list[dict[str, Any]]:
    return await mongo_db[AUDIT_LOGS].find({"sql": sql}, {"_id": 0, "at": 0, "duration_ms": 0}).to_list()


async def test_a_service_token_acts_as_the_user_it_was_minted_for_and_no_more(
    http_server: str, service: ServiceTokens
) -> None:
    clinic = {"sql": PATIENTS, "business": "city_clinic"}
    alices, _ = service.issue("alice")
    async with _session(http_server, alices) as session:
        tools = (await session.list_tools()).tools
        assert all("as_user" not in tool.inputSchema["properties"] for tool in tools)
        own = await session.call_tool("run_sql", {"sql": SELECT})
        assert own.structuredContent is not None and own.structuredContent["columns"] == ["status", "n"]

        denied = {"error": "forbidden", "reason": "user 'alice' may not access business 'city_clinic'"}
        assert _error(await session.call_tool("run_sql", clinic)) == denied
        assert _error(await session.call_tool("run_sql", {**clinic, "as_user": "bob"})) == denied
        as_admin = await session.call_tool("list_tables", {"business": "swift_logistics", "as_user": "admin"})
        assert _error(as_admin)["error"] == "forbidden"
        write = await session.call_tool("run_sql", {"sql": "DELETE FROM orders WHERE id = -1"})
        assert _error(write)["reason"] == "alice is an analyst; only editors and admins may write"

    bob = await _call(http_server, service.issue("bob")[0], "run_sql", clinic)
    assert bob.structuredContent is not None and bob.structuredContent["rows"][0][0] > 0
    admin = await _call(
        http_server, service.issue("admin")[0], "list_tables", {"business": "swift_logistics"}
    )
    assert not admin.isError


async def test_a_service_token_acts_only_while_its_user_is_active(
    http_server: str, service: ServiceTokens, carl: Identity, mongo_db: AsyncDatabase[dict[str, Any]]
) -> None:
    token, _ = service.issue(carl.username)
    ok = await _call(http_server, token, "run_sql", {"sql": "SELECT 1 AS one"})
    assert ok.structuredContent is not None and ok.structuredContent["rows"] == [[1]]
    await mongo_db[USERS].update_one({"username": carl.username}, {"$set": {"disabled": True}})
    for tool, arguments in (("run_sql", {"sql": "SELECT 1"}), ("list_tables", {})):
        assert _error(await _call(http_server, token, tool, arguments)) == {
            "error": "unauthorized",
            "reason": f"user {carl.username!r} does not exist or is disabled",
        }
    nobody = await _call(http_server, service.issue("nobody-at-all")[0], "run_sql", {"sql": "SELECT 1"})
    assert _error(nobody)["reason"] == "user 'nobody-at-all' does not exist or is disabled"


async def test_an_expired_foreign_or_userless_service_token_gets_401(
    http_server: str, service: ServiceTokens, seeded: Settings
) -> None:
    claims = jwt.decode(service.issue("alice")[0], options={"verify_signature": False})
    expired = {**claims, "iat": int(time.time()) - 600, "exp": int(time.time()) - 300}
    _assert_refused(await _post(http_server, jwt.encode(expired, seeded.secret_values()[0])), "token expired")
    foreign = ServiceTokens("another-deployments-secret-long-enough-for-hs256").issue("alice")[0]
    _assert_refused(await _post(http_server, foreign), "invalid token")
    userless = {k: v for k, v in claims.items() if k != "sub"}
    _assert_refused(
        await _post(http_server, jwt.encode(userless, seeded.secret_values()[0])), "invalid token"
    )


async def test_access_and_service_tokens_do_not_stand_in_for_each_other(
    http_server: str, issue: Issue, tokens: TokenService, service: ServiceTokens
) -> None:
    with pytest.raises(AuthFailed, match="invalid token"):
        tokens.verify(service.issue("alice")[0], "access")  # what the REST API checks
    alice = await issue(ALICE)
    with pytest.raises(AuthFailed, match="invalid token"):
        service.verify(alice)

    as_bob = await _call(
        http_server, alice, "run_sql", {"sql": PATIENTS, "business": "city_clinic", "as_user": "bob"}
    )
    assert _error(as_bob) == {
        "error": "forbidden",
        "reason": "user 'alice' may not access business 'city_clinic'",
    }


async def test_a_call_refused_another_business_is_audited_under_the_acting_user(
    http_server: str,
    issue: Issue,
    service: ServiceTokens,
    carl: Identity,
    mongo_db: AsyncDatabase[dict[str, Any]],
) -> None:
    probe = f"SELECT count(*) FROM patients -- {uuid.uuid4().hex}"
    alice = await issue(ALICE)
    denied = await _call(http_server, alice, "run_sql", {"sql": probe, "business": "city_clinic"})
    assert _error(denied)["error"] == "forbidden"
    by_service = await _call(
        http_server, service.issue(carl.username)[0], "explain_sql", {"sql": probe, "business": "city_clinic"}
    )
    assert _error(by_service)["error"] == "forbidden"

    verdict = {
        "allowed": False, "kind": "unknown", "reason": "not your business", "tables": [], "retryable": False,
    }  # fmt: skip
    refusal = {
        "business_id": "city_clinic",
        "role": "analyst",
        "source": "mcp",
        "sql": probe,
        "kind": "unknown",
        "verdict": verdict,
        "outcome": "refused",
        "rows_affected": None,
    }
    entries = sorted(await _audited(mongo_db, probe), key=lambda e: e["user"] != "alice")
    assert entries == [
        {**refusal, "user": "alice", "error": "run_sql: user 'alice' may not access business 'city_clinic'"},
        {
            **refusal,
            "user": carl.username,
            "error": f"explain_sql: user {carl.username!r} may not access business 'city_clinic'",
        },
    ]


async def test_the_client_signs_service_tokens_and_runs_as_the_asking_user(
    http_server: str,
    service: ServiceTokens,
    businesses: dict[str, BusinessConfig],
    mongo_db: AsyncDatabase[dict[str, Any]],
) -> None:
    runner = McpSqlRunner(http_server, service=service)
    own = await runner.run(SELECT, business=businesses["acme_retail"], identity=ALICE)
    assert own.columns == ["status", "n"]
    clinic = await runner.run(PATIENTS, business=businesses["city_clinic"], identity=BOB)
    assert clinic.rows[0][0] > 0
    plan = await runner.explain(SELECT, business=businesses["acme_retail"], identity=ALICE)
    assert plan.estimated_cost > 0
    assert {service.verify(token).user for token, _ in runner._minted.values()} == {"alice", "bob"}

    probe = f"SELECT count(*) AS patients FROM patients -- {uuid.uuid4().hex}"
    with pytest.raises(TenantDenied, match="'alice' may not access business 'city_clinic'"):
        await runner.run(probe, business=businesses["city_clinic"], identity=ALICE)
    assert [(e["user"], e["outcome"]) for e in await _audited(mongo_db, probe)] == [("alice", "refused")]
    delete = f"DELETE FROM orders WHERE id = -1 -- {uuid.uuid4().hex}"
    with pytest.raises(SqlRejected, match="alice is an analyst"):
        await runner.run(delete, business=businesses["acme_retail"], identity=ALICE)
    assert [(e["user"], e["outcome"]) for e in await _audited(mongo_db, delete)] == [("alice", "refused")]

    stranger = Identity(username="nobody-at-all", role="admin", business_id="all")
    with pytest.raises(AuthFailed, match="'nobody-at-all' does not exist or is disabled"):
        await runner.run(PATIENTS, business=businesses["city_clinic"], identity=stranger)


async def test_a_server_with_another_jwt_secret_refuses_the_clients_service_tokens(
    http_server: str, businesses: dict[str, BusinessConfig]
) -> None:
    runner = McpSqlRunner(
        http_server, service=ServiceTokens("another-deployments-secret-long-enough-for-hs256")
    )
    with capture_logs() as logs, pytest.raises(ServiceUnavailable) as refused:
        await runner.run("SELECT 1", business=businesses["acme_retail"], identity=ALICE)
    assert refused.value.detail == REFUSED and http_server not in refused.value.detail
    assert logs[0]["reason"] == "invalid token" and logs[0]["url"] == http_server
    assert "BIZSQL_JWT_SECRET" in logs[0]["fix"]


async def test_a_server_that_does_not_answer_is_unavailable_not_a_failed_query(
    service: ServiceTokens, businesses: dict[str, BusinessConfig]
) -> None:
    """A QueryFailed would send the LLM to repair SQL that was never at fault."""
    url = f"http://127.0.0.1:{free_port()}/mcp"
    runner = McpSqlRunner(url, service=service)
    with capture_logs() as logs, pytest.raises(ServiceUnavailable) as unreachable:
        await runner.run("SELECT 1", business=businesses["acme_retail"], identity=ALICE)
    assert not isinstance(unreachable.value, QueryFailed)
    assert unreachable.value.detail == UNREACHABLE == "the SQL service does not answer"
    assert [(e["event"], e["url"]) for e in logs] == [("mcp_unreachable", url)]
    assert "ConnectError" in logs[0]["error"]
