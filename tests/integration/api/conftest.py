"""The API over real servers: the seeded demo stores, a Valkey of our own, and the stub Mistral server.

Our own Valkey keeps rate-limit windows and revoked sessions of earlier runs (or of other engineers'
runs on the shared Redis) from leaking into these tests. Apps are driven over HTTP with httpx against the
ASGI app, each client with its own IP so per-IP login limits never cross tests.
"""

from __future__ import annotations

import itertools
import json
import secrets
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from psycopg.conninfo import make_conninfo
from pydantic import SecretStr
from pymongo import AsyncMongoClient

from bizsql.auth.passwords import hash_password
from bizsql.config import Settings
from bizsql.demo import get_demo_business
from bizsql.demo.spec import VerifiedQuery
from bizsql.embedded import ValkeyServer
from bizsql.server import create_app
from bizsql.stores.mongo import USERS
from tests.support.stub_mistral import StubMistral

PASSWORD = "demo-pass-123"
_ips = itertools.count(1)


def next_ip() -> str:
    n = next(_ips)
    return f"10.0.{n // 250}.{n % 250 + 1}"


@pytest.fixture(scope="session")
def api_redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = ValkeyServer("valkey-api", Path(tmp_path_factory.mktemp("valkey-api")))
    url = server.start()
    yield url
    server.stop()


@pytest.fixture(scope="session")
def api_settings(
    seeded: Settings, api_redis_url: str, stub_llm: StubMistral, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """Generous limits for the suite; the tests about limits build apps with the defaults."""
    return seeded.model_copy(
        update={
            "data_dir": tmp_path_factory.mktemp("api-data"),
            "llm_attempts": 1,
            "redis_url": api_redis_url,
            "mistral_api_key": SecretStr("stub-key"),
            "mistral_base_url": stub_llm.url,
            "login_rate_per_minute_ip": 10_000,
            "login_failures_per_minute_user_ip": 10_000,
            "login_rate_per_minute_user": 10_000,
            "chat_rate_per_minute": 10_000,
        }
    )


MakeUser = Callable[..., Coroutine[Any, Any, str]]


@pytest.fixture
async def make_user(api_settings: Settings) -> AsyncIterator[MakeUser]:
    """Throwaway users, so tests that revoke sessions never sign the shared demo users out."""
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(api_settings.mongo_url)
    users = mongo[api_settings.mongo_db][USERS]
    made: list[str] = []

    async def make(role: str = "analyst", business_id: str = "acme_retail") -> str:
        username = f"user_{secrets.token_hex(4)}"
        await users.insert_one(
            {"username": username, "role": role, "business_id": business_id,
             "password_hash": hash_password(PASSWORD), "created_at": datetime.now(UTC)}
        )  # fmt: skip
        made.append(username)
        return username

    yield make
    await users.delete_many({"username": {"$in": made}})
    await mongo.close()


@pytest.fixture(scope="session")
def default_limits(api_settings: Settings) -> Settings:
    """The suite's settings with the shipped rate limits (logins as configured, 30 chat turns a minute)."""
    fields = (
        "login_rate_per_minute_ip",
        "login_failures_per_minute_user_ip",
        "login_rate_per_minute_user",
        "chat_rate_per_minute",
    )
    return api_settings.model_copy(update={f: Settings.model_fields[f].default for f in fields})


@asynccontextmanager
async def serve(settings: Settings, *, ip: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """One app instance with its lifespan running, and a client that talks HTTP to it."""
    app: FastAPI = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(ip or next_ip(), 40000))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bizsql.test", timeout=120
        ) as client:
            yield client


async def login(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = await client.post("/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture(scope="session")
async def client(api_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(api_settings) as client:
        yield client


@pytest.fixture(scope="session")
async def headers(client: httpx.AsyncClient) -> dict[str, dict[str, str]]:
    """A logged-in Authorization header per demo user, made once per session."""
    return {user: await login(client, user) for user in ("admin", "alice", "bob", "carol", "dave")}


def verified_question(business_id: str, index: int = 0) -> VerifiedQuery:
    """A verified question of a demo business (answered without the LLM)."""
    return get_demo_business(business_id).verified_queries[index]


def rows_of(settings: Settings, business_id: str, sql: str) -> list[list[Any]]:
    """What the SQL returns when run straight on the business database, as JSON would carry it."""
    assert settings.postgres_url
    with psycopg.connect(make_conninfo(settings.postgres_url, dbname=business_id)) as conn:
        return json.loads(json.dumps([list(r) for r in conn.execute(sql).fetchall()], default=_plain))


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def sse_events(body: str) -> list[tuple[str, dict[str, Any]]]:
    """Server-Sent Events as (event, data) pairs, pings left out."""
    events = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":")
        )
        if "event" in fields:
            events.append((fields["event"], json.loads(fields.get("data", "null"))))
    return events
