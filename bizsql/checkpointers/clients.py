"""Redis and MongoDB clients tuned to fail fast, so a dead store costs one short timeout.

redis-py retries three times with up to seconds of back-off by default, and pymongo waits 30 s to select a
server: both would stall every turn during an outage. Here a refused connection fails at once, a silent
server after ``timeout_ms``; one immediate retry still lets a pooled connection reconnect after a restart.
pymongo's monitor checks the server every second (not every 10 s), so a MongoDB that came back is known
before the checkpointer's breaker probes it again.
"""

from __future__ import annotations

from typing import Any

import redis
import redis.asyncio as aioredis
from pymongo import AsyncMongoClient, MongoClient
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.retry import Retry

Document = dict[str, Any]
HEARTBEAT_MS = 1000


def redis_client(url: str, *, timeout_ms: int = 500) -> redis.Redis:
    seconds = timeout_ms / 1000
    return redis.Redis.from_url(
        url, socket_timeout=seconds, socket_connect_timeout=seconds, retry=Retry(NoBackoff(), 1)
    )


def async_redis_client(url: str, *, timeout_ms: int = 500) -> aioredis.Redis:
    seconds = timeout_ms / 1000
    return aioredis.Redis.from_url(
        url, socket_timeout=seconds, socket_connect_timeout=seconds, retry=AsyncRetry(NoBackoff(), 1)
    )


def _mongo_options(timeout_ms: int, socket_timeout_ms: int) -> dict[str, Any]:
    """A call waits at most ``timeout_ms`` for a usable server. Connecting may take longer: pymongo's monitor
    uses the connect timeout for its heartbeats too, and a slow heartbeat on a busy machine must not pass
    for an outage (it clears the pool and cancels calls in flight)."""
    return {
        "serverSelectionTimeoutMS": timeout_ms,
        "connectTimeoutMS": socket_timeout_ms,
        "socketTimeoutMS": socket_timeout_ms,
        "heartbeatFrequencyMS": HEARTBEAT_MS,
        "tz_aware": True,
    }


def mongo_client(url: str, *, timeout_ms: int = 500, socket_timeout_ms: int = 2000) -> MongoClient[Document]:
    return MongoClient(url, **_mongo_options(timeout_ms, socket_timeout_ms))


def async_mongo_client(
    url: str, *, timeout_ms: int = 500, socket_timeout_ms: int = 2000
) -> AsyncMongoClient[Document]:
    return AsyncMongoClient(url, **_mongo_options(timeout_ms, socket_timeout_ms))
