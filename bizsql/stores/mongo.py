"""MongoDB collections bizsql owns, their natural keys, and the indexes that enforce them."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING, MongoClient
from pymongo.database import Database
from pymongo.errors import AutoReconnect, NetworkTimeout, ServerSelectionTimeoutError

USERS = "users"
BUSINESS_CONFIGS = "business_configs"
CONVERSATIONS = "conversations"
AUDIT_LOGS = "audit_logs"

Document = dict[str, Any]


MAX_IDLE_MS = 60_000


def closed_by_server(exc: BaseException) -> bool:
    """A pooled connection the server had already closed: pymongo retries a read or write once for it, on
    another pooled connection that may be closed too, and a command not at all. Trying once more is safe
    and quick; a server that does not answer (a timeout) is an outage, and is not tried again."""
    return isinstance(exc, AutoReconnect) and not isinstance(
        exc, NetworkTimeout | ServerSelectionTimeoutError
    )


def client_options(timeout_ms: int) -> dict[str, Any]:
    """Fail fast when the server is down instead of hanging for 30 s, and drop pooled connections idle for a
    minute: servers and load balancers close idle connections (SecantusDB after 5 minutes), and pymongo's
    async pool cannot tell until the next command on one fails with AutoReconnect."""
    return {"serverSelectionTimeoutMS": timeout_ms, "maxIdleTimeMS": MAX_IDLE_MS, "tz_aware": True}


def mongo_client(url: str, *, timeout_ms: int = 5000) -> MongoClient[Document]:
    return MongoClient(url, **client_options(timeout_ms))


def ensure_indexes(db: Database[Document]) -> None:
    """Unique natural keys and the indexes the API's listings need; safe to call on every start."""
    db[USERS].create_index([("username", ASCENDING)], unique=True, name="username_unique")
    db[BUSINESS_CONFIGS].create_index([("business_id", ASCENDING)], unique=True, name="business_id_unique")
    db[CONVERSATIONS].create_index([("thread_id", ASCENDING)], unique=True, name="thread_id_unique")
    db[CONVERSATIONS].create_index(
        [("user", ASCENDING), ("business_id", ASCENDING), ("updated_at", DESCENDING)], name="owner_recent"
    )
    db[AUDIT_LOGS].create_index([("business_id", ASCENDING), ("at", DESCENDING)], name="business_recent")
