"""Moving-window rate limits in Redis through the `limits` library (its Lua scripts make each hit atomic)."""

from __future__ import annotations

import math
import time

import redis.asyncio as aioredis
from limits import RateLimitItemPerMinute
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

from bizsql.errors import RateLimited
from bizsql.metrics import RATE_LIMITED

KEY_PREFIX = "bizsql:ratelimit"


class RateLimiter:
    """``hit(scope, per_minute, key)`` counts one request, or raises RateLimited with a Retry-After."""

    def __init__(self, redis_url: str, redis: aioredis.Redis) -> None:
        storage = RedisStorage(
            _async_uri(redis_url),
            implementation="redispy",
            key_prefix=KEY_PREFIX,
            connection_pool=redis.connection_pool,  # type: ignore[arg-type]  # typed as scalar options
        )
        self._limiter = MovingWindowRateLimiter(storage)

    async def hit(self, scope: str, per_minute: int, key: str, *, what: str) -> None:
        item = RateLimitItemPerMinute(per_minute)
        if await self._limiter.hit(item, scope, key):
            return
        RATE_LIMITED.labels(scope=scope).inc()
        stats = await self._limiter.get_window_stats(item, scope, key)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimited(
            f"too many {what}: the limit is {per_minute} a minute; try again in {retry_after} s", retry_after
        )

    async def clear(self, scope: str, per_minute: int, key: str) -> None:
        await self._limiter.clear(RateLimitItemPerMinute(per_minute), scope, key)


def _async_uri(redis_url: str) -> str:
    return redis_url if redis_url.startswith("async+") else f"async+{redis_url}"
