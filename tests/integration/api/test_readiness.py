"""/readyz under load does not flap: a MongoDB that closes the app's idle connections is still ready.

Servers and load balancers close connections that sit idle (SecantusDB after 5 minutes). pymongo's async
pool cannot see that until a command on such a connection fails with AutoReconnect: reads and writes retry
once by themselves, so chat goes on, but a ping does not. Here the server closes the app's idle connections
on demand (``killOp`` in SecantusDB shuts the socket, as its idle timeout does) while /readyz is polled.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from bizsql.config import Settings
from bizsql.server import create_app
from tests.integration.api.conftest import PASSWORD, verified_question
from tests.integration.api.live import LiveServer, live_server, server_env

pytestmark = pytest.mark.integration

APP_NAME = "bizsql-readiness-test"
POLL_SECONDS = 60.0
POLL_EVERY_S = 0.25
CHAT_EVERY_S = 1.0
CLOSE_IDLE_EVERY = 16  # polls, so the server closes the app's idle connections about every 4 s
SECANTUS_CLIENT_IDLE_TIMEOUT_S = 300.0  # secantus/server.py DEFAULT_CLIENT_IDLE_TIMEOUT_S


@pytest.fixture(scope="module")
def app_url(api_settings: Settings) -> str:
    """The suite's MongoDB, with an appName that lets the test find the app's connections on the server."""
    assert api_settings.mongo_url
    return f"{api_settings.mongo_url}{'&' if '?' in api_settings.mongo_url else '?'}appName={APP_NAME}"


@pytest.fixture(scope="module")
def live(
    api_settings: Settings, app_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("readiness")
    env = server_env(
        api_settings, folder / "data", BIZSQL_MONGO_URL=app_url, BIZSQL_CHAT_RATE_PER_MINUTE="100000"
    )
    with live_server(env, folder / "server.log") as server:
        yield server


async def close_idle_app_connections(admin: AsyncMongoClient[dict[str, Any]]) -> int:
    """What the server's idle timeout does to the app's pooled connections; its monitors (whose last
    command is always ``hello``) are left alone, as an idle timeout leaves them."""
    ops = (await admin.admin.command("currentOp"))["inprog"]
    pooled = [
        op["opid"]
        for op in ops
        if op.get("clientMetadata", {}).get("application", {}).get("name") == APP_NAME
        and op.get("op") not in ("hello", "isMaster", "none")
    ]
    for opid in pooled:
        await admin.admin.command("killOp", op=opid)
    return len(pooled)


async def test_readyz_stays_200_for_a_minute_of_chat_while_mongo_closes_idle_connections(
    live: LiveServer, api_settings: Settings
) -> None:
    admin: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(api_settings.mongo_url)
    readyz: list[tuple[float, int, str]] = []
    chats: list[int] = []
    chat_idle = asyncio.Event()
    chat_idle.set()
    closed = 0
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as http:
        login = await http.post("/auth/login", json={"username": "alice", "password": PASSWORD})
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        question = {"message": verified_question("acme_retail", 1).question}
        deadline = time.monotonic() + POLL_SECONDS

        async def chat_load() -> None:
            while time.monotonic() < deadline:
                chat_idle.clear()
                chats.append((await http.post("/chat", json=question, headers=auth)).status_code)
                chat_idle.set()
                await asyncio.sleep(CHAT_EVERY_S)

        load = asyncio.create_task(chat_load())
        try:
            polls = 0
            while time.monotonic() < deadline:
                if polls % CLOSE_IDLE_EVERY == CLOSE_IDLE_EVERY - 1:
                    await chat_idle.wait()
                    closed += await close_idle_app_connections(admin)
                response = await http.get("/readyz")
                readyz.append((time.monotonic(), response.status_code, response.text))
                polls += 1
                await asyncio.sleep(POLL_EVERY_S)
        finally:
            await load
            await admin.close()
    failures = [(round(at - readyz[0][0], 2), body) for at, status, body in readyz if status != 200]
    assert closed >= POLL_SECONDS / (CLOSE_IDLE_EVERY * POLL_EVERY_S) - 2, closed
    assert len(readyz) >= POLL_SECONDS / POLL_EVERY_S / 2 and len(chats) >= POLL_SECONDS / CHAT_EVERY_S / 2
    assert failures == [], f"{len(failures)} of {len(readyz)} /readyz answers were not 200: {failures[:5]}"
    assert set(chats) == {200}, chats


async def test_the_app_drops_idle_mongo_connections_before_the_server_closes_them(
    api_settings: Settings,
) -> None:
    """A connection the server closed fails the next command on it; one the pool dropped first never does."""
    app = create_app(api_settings)
    idle_limit = app.state.mongo.options.pool_options.max_idle_time_seconds
    await app.state.services.aclose()
    assert idle_limit is not None and idle_limit < SECANTUS_CLIENT_IDLE_TIMEOUT_S / 2
