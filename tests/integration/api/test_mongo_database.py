"""A BIZSQL_MONGO_URL that names a database is where bizsql keeps everything it stores in MongoDB."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from bizsql.checkpointers.base import CHECKPOINTS
from bizsql.config import Settings
from bizsql.demo.seed import seed_all
from bizsql.stores.mongo import BUSINESS_CONFIGS, CONVERSATIONS, USERS
from tests.integration.api.conftest import login, serve, verified_question

pytestmark = pytest.mark.integration


def with_database(url: str, database: str) -> str:
    """``url`` naming ``database`` in its path, hosts and options unchanged."""
    scheme, _, rest = url.partition("://")
    hosts_and_path, _, options = rest.partition("?")
    return f"{scheme}://{hosts_and_path.partition('/')[0]}/{database}" + (f"?{options}" if options else "")


async def test_a_mongo_url_naming_a_database_keeps_users_configs_and_conversations_there(
    api_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert api_settings.mongo_url
    database = f"bizsql_url_{secrets.token_hex(4)}"
    monkeypatch.delenv("BIZSQL_MONGO_DB", raising=False)
    fields = api_settings.model_dump(
        exclude={"mongo_db", "mongo_url"}
    )  # as an operator setting the URL alone
    settings = Settings(**fields, mongo_url=with_database(api_settings.mongo_url, database))
    assert settings.mongo_db == database
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(api_settings.mongo_url)
    try:
        await asyncio.to_thread(seed_all, settings, show_progress=False)
        async with serve(settings) as client:
            headers = await login(client, "alice")
            question = verified_question("acme_retail").question
            response = await client.post("/chat", json={"message": question}, headers=headers)
            assert response.status_code == 200, response.text
        thread = response.json()["thread_id"]
        used = mongo[database]
        assert await used[USERS].find_one({"username": "alice"})
        assert await used[BUSINESS_CONFIGS].find_one({"business_id": "acme_retail"})
        assert await used[CONVERSATIONS].find_one({"thread_id": thread})
        assert await used[CHECKPOINTS].find_one({"thread_id": thread})
        for other in (api_settings.mongo_db, "bizsql"):
            assert await mongo[other][CONVERSATIONS].find_one({"thread_id": thread}) is None
    finally:
        await mongo.drop_database(database)
        await mongo.close()
