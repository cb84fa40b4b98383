"""`bizsql serve --workers 2`: two processes on one port share rate limits, tokens and conversations.

The server starts a Valkey of its own (no ``BIZSQL_REDIS_URL``), so rate-limit windows start empty and
Ctrl-C must stop it, and generates its JWT secret under its data directory (no ``BIZSQL_JWT_SECRET``), so a
token signed by one worker is only accepted by the other if the parent handed the same secret to both.
Which worker answers is the kernel's choice; each request carries an ``X-Request-ID``, and the log line of
that request says which process (``process``) answered it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from bizsql.config import Settings
from tests.integration.api.live import LiveServer, live_server, server_env

pytestmark = pytest.mark.integration

QUESTION = "How many customers live in Texas?"  # a verified question of acme_retail: no LLM is needed
CHAT_LIMIT = Settings.model_fields["chat_rate_per_minute"].default
TRIES = 20
"""Turns on one thread before giving up on the other worker answering one (each has a new connection)."""


def workers_env(seeded: Settings, folder: Path) -> dict[str, str]:
    env = server_env(seeded, folder / "data")
    del env["BIZSQL_REDIS_URL"], env["BIZSQL_JWT_SECRET"]
    return env


@pytest.fixture(scope="module")
def two_workers(seeded: Settings, servers_root: Path) -> Iterator[LiveServer]:
    folder = Path(tempfile.mkdtemp(prefix="workers-", dir=servers_root))
    with live_server(workers_env(seeded, folder), folder / "server.log", "--workers", "2") as server:
        yield server


def workers_of(server: LiveServer) -> set[int]:
    """The pids of the server's workers: the processes that started an app (not the parent)."""
    return server.started_processes() - {server.pid}


def answered_by(server: LiveServer, request_ids: set[str]) -> dict[str, int]:
    """Which process logged each request's line, by request id (the line is written just after the
    response is sent, so it may trail the response by a moment)."""
    found: dict[str, int] = {}
    for _ in range(50):
        found = {
            line["request_id"]: line["process"]
            for line in server.log_lines()
            if line["event"] == "request" and line.get("request_id") in request_ids
        }
        if len(found) == len(request_ids):
            break
        time.sleep(0.1)
    return found


def chat_alone(server: LiveServer, headers: dict[str, str], **body: str) -> tuple[httpx.Response, int]:
    """One turn on a connection of its own (a kept-alive one would stay with one worker), and its worker."""
    request_id = uuid.uuid4().hex
    response = httpx.post(
        f"{server.url}/chat",
        json={"message": QUESTION, **body},
        headers=headers | {"X-Request-ID": request_id},
        timeout=60,
    )
    return response, answered_by(server, {request_id})[request_id]


def token(server: LiveServer, username: str) -> dict[str, str]:
    response = httpx.post(
        f"{server.url}/auth/login", json={"username": username, "password": "demo-pass-123"}, timeout=30
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def chat(http: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    return await http.post("/chat", json={"message": QUESTION}, headers=headers)


async def test_two_workers_let_exactly_the_chat_limit_through_and_both_answer(
    two_workers: LiveServer,
) -> None:
    headers = token(two_workers, "alice")
    ids = [uuid.uuid4().hex for _ in range(CHAT_LIMIT + 5)]
    limits = httpx.Limits(max_connections=len(ids))
    async with httpx.AsyncClient(base_url=two_workers.url, timeout=120, limits=limits) as http:
        responses = await asyncio.gather(*(chat(http, headers | {"X-Request-ID": i}) for i in ids))
    statuses = Counter(response.status_code for response in responses)
    assert statuses == {200: CHAT_LIMIT, 429: 5}, [r.text for r in responses if r.status_code >= 500]
    assert all(r.json()["source"] == "verified" for r in responses if r.status_code == 200)
    pids = answered_by(two_workers, set(ids))
    assert len(pids) == len(ids)
    # Which worker accepts a connection is the kernel's choice, and one may take the whole burst: then
    # turns on new connections go on until the other worker takes one, and it must refuse it too, since
    # the window it counts in is the same one.
    seen, after = set(pids.values()), []
    for _ in range(TRIES):
        if seen == workers_of(two_workers):
            break
        response, pid = chat_alone(two_workers, headers)
        seen.add(pid)
        after.append(response.status_code)
    assert seen == workers_of(two_workers), f"one worker answered every turn, {TRIES} more included"
    assert set(after) <= {429}, after


def test_a_conversation_started_on_one_worker_goes_on_on_the_other(two_workers: LiveServer) -> None:
    headers = token(two_workers, "dave")
    thread_id, pids = None, []
    for _ in range(TRIES):
        response, pid = chat_alone(two_workers, headers, **({"thread_id": thread_id} if thread_id else {}))
        assert response.status_code == 200, response.text
        assert thread_id in (None, response.json()["thread_id"])
        thread_id = response.json()["thread_id"]
        pids.append(pid)
        if len(set(pids)) == 2:
            break
    assert set(pids) == workers_of(two_workers), f"one worker answered all {TRIES} turns"
    thread = httpx.get(f"{two_workers.url}/conversations/{thread_id}", headers=headers, timeout=30).json()
    assert thread["turns"] == len(pids)
    assert [m["content"] for m in thread["messages"] if m["role"] == "user"] == [QUESTION] * len(pids)
    assert all(m["row_count"] == 1 for m in thread["messages"] if m["role"] == "assistant")


def test_ctrl_c_stops_every_worker_and_the_servers_it_started(seeded: Settings, servers_root: Path) -> None:
    folder = Path(tempfile.mkdtemp(prefix="workers-stop-", dir=servers_root))
    with live_server(workers_env(seeded, folder), folder / "server.log", "--workers", "2") as server:
        parent = psutil.Process(server.pid)
        started = parent.children(recursive=True)  # workers, multiprocessing's tracker, Valkey
        valkey = int((folder / "data" / "embedded" / "valkey" / "valkey.pid").read_text())
        assert workers_of(server) | {valkey} <= {p.pid for p in started}
        os.kill(server.pid, signal.SIGINT)
        assert parent.wait(60) == 0
    _, alive = psutil.wait_procs(started, timeout=20)
    assert alive == [], [p.cmdline() for p in alive]
