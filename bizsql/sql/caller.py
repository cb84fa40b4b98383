"""Who runs SQL outside a web request (the CLI, the MCP server): the business config and the user.

A local process (``bizsql sql run``, ``bizsql mcp`` over stdio) acts as a user named on its command line;
the MCP server over HTTP acts as the user of each request's access token, checked as the REST API does.
"""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient

from bizsql.auth.identity import Identity
from bizsql.auth.users import find_user
from bizsql.config import Settings
from bizsql.errors import NotFound
from bizsql.stores.business import BusinessConfig, aload_business_config
from bizsql.stores.mongo import USERS


async def load_context(
    mongo: AsyncMongoClient[dict[str, Any]], settings: Settings, business_id: str, username: str | None
) -> tuple[BusinessConfig, Identity]:
    """The business config and the named user, or the business's read-only analyst when none is named."""
    db = mongo[settings.mongo_db]
    business = await aload_business_config(db, business_id)
    if username is None:
        doc = await db[USERS].find_one(
            {"business_id": business_id, "role": "analyst", "disabled": {"$ne": True}},
            {"username": 1},
            sort=[("username", 1)],
        )
        if doc is None:
            return business, Identity(username="cli", role="analyst", business_id=business_id)
        username = str(doc["username"])
    identity = await find_user(db, username)
    if identity is None:
        raise NotFound(f"no active user {username!r}")
    return business, identity
