"""Redis and MongoDB clients tuned to fail fast, so a dead store costs one short timeout.

redis-py retries three times with up to seconds of back-off by default, and pymongo waits 30 s to select a
server: both would stall every turn during an outage. Here a refused connection fails at once, a silent
server after ``timeout_ms``; one immediate retry still lets a pooled connection reconnect after a restart.
pymongo's monitor checks the server every second (not every 10 s), so a MongoDB that came back is known
before the checkpointer's breaker probes it again.

The saver runs on asyncio clients only; ``RedisMongoSaver``, handed blocking ones, talks through their
asyncio twins (``async_twin_of_redis``, ``async_twin_of_mongo``).
"""

from __future__ import annotations

from typing import Any, cast

import redis
import redis.asyncio as aioredis
import redis.asyncio.connection
from pymongo import AsyncMongoClient, MongoClient
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from bizsql.stores.mongo import MAX_IDLE_MS

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
        "maxIdleTimeMS": MAX_IDLE_MS,  # before a server or load balancer closes it (stores/mongo.py)
        "tz_aware": True,
    }


def mongo_client(url: str, *, timeout_ms: int = 500, socket_timeout_ms: int = 2000) -> MongoClient[Document]:
    return MongoClient(url, **_mongo_options(timeout_ms, socket_timeout_ms))


def async_mongo_client(
    url: str, *, timeout_ms: int = 500, socket_timeout_ms: int = 2000
) -> AsyncMongoClient[Document]:
    return AsyncMongoClient(url, **_mongo_options(timeout_ms, socket_timeout_ms))


REDIS_TWIN_OPTIONS = frozenset(
    {
        "host", "port", "path", "db", "username", "password", "credential_provider", "client_name",
        "lib_name", "lib_version", "protocol", "socket_timeout", "socket_connect_timeout", "socket_keepalive",
        "socket_keepalive_options", "retry", "retry_on_timeout", "retry_on_error", "health_check_interval",
        "encoding", "encoding_errors", "decode_responses", "ssl_keyfile", "ssl_certfile", "ssl_cert_reqs",
        "ssl_ca_certs", "ssl_ca_data", "ssl_ca_path", "ssl_check_hostname", "ssl_min_version", "ssl_ciphers",
        "ssl_password",
    }
)  # fmt: skip
"""The connection options a URL or ``redis.Redis(...)`` sets that mean the same to ``redis.asyncio``; the
rest of a pool's options are its own machinery (maintenance notifications and the like)."""


def async_twin_of_redis(client: redis.Redis) -> aioredis.Redis:
    """An asyncio client to the same server, with the same credentials, timeouts and retries."""
    pool = client.connection_pool
    options = {k: v for k, v in pool.connection_kwargs.items() if k in REDIS_TWIN_OPTIONS}
    if isinstance(retry := options.get("retry"), Retry):  # the same policy, as the asyncio kind
        errors = cast("tuple[type[RedisError], ...]", retry._supported_errors)  # stub narrower than code
        options["retry"] = AsyncRetry(retry._backoff, retry.get_retries(), errors)
    connection_class = getattr(redis.asyncio.connection, pool.connection_class.__name__)
    return aioredis.Redis.from_pool(
        aioredis.ConnectionPool(
            connection_class=connection_class, max_connections=pool.max_connections, **options
        )
    )


def async_twin_of_mongo(client: MongoClient[Document]) -> AsyncMongoClient[Document]:
    """An asyncio client built from the blocking one's own arguments (event listeners too); pymongo keeps
    them for ``MongoClient._duplicate``."""
    return AsyncMongoClient(**client._init_kwargs)
