"""Looking users up and checking their passwords, in constant work whether or not the user exists."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, cast

import anyio
from cachetools import TTLCache
from pymongo.asynchronous.database import AsyncDatabase

from bizsql.auth.identity import Identity
from bizsql.auth.passwords import hash_password, verify_password
from bizsql.stores.mongo import USERS

ROLES = ("admin", "editor", "analyst")
DIRECTORY_MAX_USERS = 10_000
_UNREAD = object()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verified against when the user is unknown, so timing does not tell who has an account."""
    return hash_password("no such user: this hash only burns the same time as a real check")


def identity_of(doc: dict[str, Any]) -> Identity | None:
    """The identity a user document grants, or None when it is disabled or malformed."""
    role = doc.get("role")
    business = doc.get("business_id")
    if doc.get("disabled") or role not in ROLES or not isinstance(business, str) or not business:
        return None
    return Identity(username=str(doc["username"]), role=role, business_id=business)


async def find_user(db: AsyncDatabase[dict[str, Any]], username: str) -> Identity | None:
    doc = await db[USERS].find_one({"username": username}, {"password_hash": 0})
    return identity_of(doc) if doc else None


class UserDirectory:
    """Each request's user as stored now, so a token cannot outlive its user being disabled or changed.

    What was read (including "no such user") is trusted for ``recheck_seconds``: one indexed MongoDB read
    per user and period instead of one per request, for a few seconds' delay before a change applies.
    """

    def __init__(self, db: AsyncDatabase[dict[str, Any]], recheck_seconds: float) -> None:
        self._db = db
        self._enabled = recheck_seconds > 0
        self._read: TTLCache[str, Identity | None] = TTLCache(
            DIRECTORY_MAX_USERS, ttl=max(recheck_seconds, 1e-9)
        )

    async def current(self, username: str) -> Identity | None:
        """The user's identity now, or None when the user is disabled or gone."""
        if (known := self._read.get(username, _UNREAD)) is not _UNREAD:
            return cast("Identity | None", known)
        identity = await find_user(self._db, username)
        if self._enabled:
            self._read[username] = identity
        return identity

    def forget(self, username: str) -> None:
        """Read the user afresh next time (they just logged in, so a remembered refusal is stale)."""
        self._read.pop(username, None)


async def authenticate(db: AsyncDatabase[dict[str, Any]], username: str, password: str) -> Identity | None:
    """The user's identity when the password matches; argon2 runs in a worker thread."""
    doc = await db[USERS].find_one({"username": username})
    hashed = str(doc.get("password_hash") or "") if doc else ""
    ok = await anyio.to_thread.run_sync(_check, password, hashed or _dummy_hash())
    if not (ok and doc and hashed):
        return None
    return identity_of(doc)


def _check(password: str, hashed: str) -> bool:
    try:
        return verify_password(password, hashed)
    except Exception:  # a malformed stored hash must read as "wrong password", not a 500
        return False
