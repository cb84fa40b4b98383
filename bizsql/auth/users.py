"""Looking users up and checking their passwords, in constant work whether or not the user exists."""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any

import anyio
from pymongo.asynchronous.database import AsyncDatabase

from bizsql.auth.identity import Identity
from bizsql.auth.passwords import hash_password, verify_password
from bizsql.stores.mongo import USERS

ROLES = ("admin", "editor", "analyst")
DIRECTORY_MAX_USERS = 10_000


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
        self._recheck = recheck_seconds
        self._read: dict[str, tuple[float, Identity | None]] = {}

    async def current(self, username: str) -> Identity | None:
        """The user's identity now, or None when the user is disabled or gone."""
        now = time.monotonic()
        known = self._read.get(username)
        if known is not None and now < known[0]:
            return known[1]
        identity = await find_user(self._db, username)
        if self._recheck > 0:
            self._remember(username, now, identity)
        return identity

    def forget(self, username: str) -> None:
        """Read the user afresh next time (they just logged in, so a remembered refusal is stale)."""
        self._read.pop(username, None)

    def _remember(self, username: str, now: float, identity: Identity | None) -> None:
        """Entries stay in the order they expire, so the stale and the oldest are dropped from the front."""
        self._read.pop(username, None)
        while self._read:
            oldest = next(iter(self._read))
            if len(self._read) < DIRECTORY_MAX_USERS and self._read[oldest][0] > now:
                break
            del self._read[oldest]
        self._read[username] = (now + self._recheck, identity)


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
