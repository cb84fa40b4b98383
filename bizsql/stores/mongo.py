"""MongoDB collections bizsql owns, their natural keys, and the indexes that enforce them."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING, MongoClient
from pymongo.database import Database

USERS = "users"
BUSINESS_CONFIGS = "business_configs"
CONVERSATIONS = "conversations"
AUDIT_LOGS = "audit_logs"

Document = dict[str, Any]


def mongo_client(url: str, *, timeout_ms: int = 5000) -> MongoClient[Document]:
    """A client that fails fast when the server is down instead of hanging for 30 s."""
    return MongoClient(url, serverSelectionTimeoutMS=timeout_ms, tz_aware=True)


def ensure_indexes(db: Database[Document]) -> None:
    """Unique natural keys and the indexes the API's listings need; safe to call on every start."""
    db[USERS].create_index([("username", ASCENDING)], unique=True, name="username_unique")
    db[BUSINESS_CONFIGS].create_index([("business_id", ASCENDING)], unique=True, name="business_id_unique")
    db[CONVERSATIONS].create_index([("thread_id", ASCENDING)], unique=True, name="thread_id_unique")
    db[CONVERSATIONS].create_index(
        [("user", ASCENDING), ("business_id", ASCENDING), ("updated_at", DESCENDING)], name="owner_recent"
    )
    db[AUDIT_LOGS].create_index([("business_id", ASCENDING), ("at", DESCENDING)], name="business_recent")
