"""The saver's options beside its clients or URLs, named once: ``RedisMongoSaver`` passes them through to
``AsyncRedisMongoSaver`` (which holds the defaults), and the settings fill them for both."""

from __future__ import annotations

from typing import TypedDict

from langgraph.checkpoint.serde.base import SerializerProtocol

from bizsql.config import Settings


class SaverOptions(TypedDict, total=False):
    """The constructor's keyword options (``owns_clients`` aside)."""

    db_name: str
    ttl_seconds: int
    retry_seconds: float
    key_prefix: str
    serde: SerializerProtocol | None


class UrlOptions(SaverOptions, total=False):
    """``from_urls``' keyword options: the constructor's, plus the fail-fast clients' timeouts."""

    redis_timeout_ms: int
    mongo_timeout_ms: int
    mongo_socket_timeout_ms: int


def settings_options(settings: Settings) -> UrlOptions:
    """``from_urls`` keyword arguments from the settings' memory block."""
    return {
        "ttl_seconds": settings.conversation_ttl_seconds,
        "db_name": settings.mongo_db,
        "redis_timeout_ms": settings.memory_redis_timeout_ms,
        "mongo_timeout_ms": settings.memory_mongo_timeout_ms,
        "mongo_socket_timeout_ms": settings.memory_mongo_socket_timeout_ms,
        "retry_seconds": settings.memory_retry_seconds,
        "key_prefix": settings.memory_key_prefix,
    }
