"""Changes to a user in MongoDB (disabled, deleted, a new role) reach tokens that were issued before them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from bizsql.config import Settings
from bizsql.stores.mongo import USERS
from tests.integration.api.conftest import PASSWORD, MakeUser, login, serve

pytestmark = pytest.mark.integration

RECHECK_SECONDS = 0.3
GONE = {"error": "unauthorized", "detail": "this user no longer exists or is disabled"}


@pytest.fixture
async def users(api_settings: Settings) -> AsyncIterator[AsyncCollection[dict[str, Any]]]:
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(api_settings.mongo_url)
    yield mongo[api_settings.mongo_db][USERS]
    await mongo.close()


@pytest.fixture
async def quick_recheck(api_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An app that trusts what it read of a user for only a moment, so a test can wait it out."""
    async with serve(api_settings.model_copy(update={"user_recheck_seconds": RECHECK_SECONDS})) as client:
        yield client


async def test_a_disabled_user_is_refused_on_the_next_request(
    client: httpx.AsyncClient, make_user: MakeUser, users: AsyncCollection[dict[str, Any]]
) -> None:
    username = await make_user()
    auth = await login(client, username)
    await users.update_one({"username": username}, {"$set": {"disabled": True}})
    for response in (
        await client.get("/auth/me", headers=auth),
        await client.get("/conversations", headers=auth),
        await client.post("/chat", json={"message": "hello"}, headers=auth),
    ):
        assert response.status_code == 401, (response.request.url, response.text)
        assert response.json() == GONE


async def test_a_deleted_user_is_refused_on_the_next_request(
    client: httpx.AsyncClient, make_user: MakeUser, users: AsyncCollection[dict[str, Any]]
) -> None:
    username = await make_user()
    auth = await login(client, username)
    await users.delete_one({"username": username})
    response = await client.get("/auth/me", headers=auth)
    assert response.status_code == 401
    assert response.json() == GONE


async def test_a_disabled_user_cannot_refresh(
    client: httpx.AsyncClient, make_user: MakeUser, users: AsyncCollection[dict[str, Any]]
) -> None:
    username = await make_user()
    tokens = (await client.post("/auth/login", json={"username": username, "password": PASSWORD})).json()
    await users.update_one({"username": username}, {"$set": {"disabled": True}})
    response = await client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert response.status_code == 401
    assert response.json() == GONE


async def test_disabling_a_user_who_is_active_takes_effect_within_the_recheck_time(
    quick_recheck: httpx.AsyncClient, make_user: MakeUser, users: AsyncCollection[dict[str, Any]]
) -> None:
    username = await make_user()
    auth = await login(quick_recheck, username)
    assert (await quick_recheck.get("/auth/me", headers=auth)).status_code == 200
    await users.update_one({"username": username}, {"$set": {"disabled": True}})
    await asyncio.sleep(RECHECK_SECONDS + 0.1)
    response = await quick_recheck.get("/auth/me", headers=auth)
    assert response.status_code == 401
    assert response.json() == GONE


async def test_a_demoted_admin_loses_the_admin_routes_with_the_same_token(
    quick_recheck: httpx.AsyncClient, make_user: MakeUser, users: AsyncCollection[dict[str, Any]]
) -> None:
    username = await make_user(role="admin", business_id="all")
    auth = await login(quick_recheck, username)
    assert (await quick_recheck.get("/debug/cache-stats", headers=auth)).status_code == 200
    await users.update_one(
        {"username": username}, {"$set": {"role": "analyst", "business_id": "acme_retail"}}
    )
    await asyncio.sleep(RECHECK_SECONDS + 0.1)
    refused = await quick_recheck.get("/debug/cache-stats", headers=auth)
    assert refused.status_code == 403
    assert refused.json() == {"error": "forbidden", "detail": "this endpoint is for administrators"}
    me = await quick_recheck.get("/auth/me", headers=auth)
    assert me.json() == {"username": username, "role": "analyst", "business_id": "acme_retail"}
