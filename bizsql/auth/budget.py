"""Daily LLM token budget per business, counted in Redis from the usage the LLM reports.

It implements the graph's ``LlmBudget``: ``check`` runs before each LLM call and raises RateLimited, which
the nodes turn into an answer saying when the budget resets (the thread stays whole), while verified
questions (no LLM call) still answer with rows.
The counter is keyed by UTC day, so it resets at midnight UTC with no sweeper; keys expire after two days.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from bizsql.errors import RateLimited
from bizsql.llm import TokenUsage
from bizsql.metrics import LLM_CALLS, LLM_TOKENS, RATE_LIMITED, REDIS_FAIL_OPEN
from bizsql.stores.business import BusinessConfig

log = structlog.get_logger(__name__)

PREFIX = "bizsql:tokens"
KEY_TTL_S = 2 * 86400


class BusinessConfigs(Protocol):
    async def get(self, business_id: str) -> BusinessConfig: ...


class TokenBudget:
    """Per-business daily token spend; the limit is the business config's ``daily_token_budget``."""

    def __init__(self, redis: aioredis.Redis, configs: BusinessConfigs, *, fail_open: bool = True) -> None:
        self._redis = redis
        self._configs = configs
        self._fail_open = fail_open

    async def spent(self, business_id: str, *, now: datetime | None = None) -> int:
        value = await self._redis.get(_key(business_id, now))
        return int(value or 0)

    async def add(self, business_id: str, tokens: int, *, now: datetime | None = None) -> int:
        """Count tokens spent; returns today's total."""
        key = _key(business_id, now)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incrby(key, max(tokens, 0))
            pipe.expire(key, KEY_TTL_S)
            total, _ = await pipe.execute()
        return int(total)

    async def check(self, business_id: str) -> None:
        """Raise RateLimited (retry at the next UTC midnight) once today's spend reached the limit."""
        if not business_id:
            return
        limit = (await self._configs.get(business_id)).daily_token_budget
        if limit is None:
            return
        try:
            spent = await self.spent(business_id)
        except RedisError:
            if not self._fail_open:
                raise
            REDIS_FAIL_OPEN.labels(check="token_budget").inc()
            return
        if spent >= limit:
            RATE_LIMITED.labels(scope="token_budget").inc()
            raise RateLimited(
                f"business {business_id!r} has used its daily LLM budget ({spent:,} of {limit:,} tokens); "
                "verified questions still answer, others can be asked again after midnight UTC",
                seconds_to_midnight(),
            )

    async def remaining(self, business_id: str) -> int | None:
        """Tokens left today; None when the business has no limit or Redis cannot say (fail-open)."""
        if not business_id:
            return None
        limit = (await self._configs.get(business_id)).daily_token_budget
        if limit is None:
            return None
        try:
            return max(limit - await self.spent(business_id), 0)
        except RedisError:
            if not self._fail_open:
                raise
            REDIS_FAIL_OPEN.labels(check="token_budget").inc()
            return None

    async def record(self, business_id: str, usage: TokenUsage) -> None:
        LLM_CALLS.labels(business=business_id or "-").inc(usage.calls)
        LLM_TOKENS.labels(business=business_id or "-", kind="input").inc(usage.input_tokens)
        LLM_TOKENS.labels(business=business_id or "-", kind="output").inc(usage.output_tokens)
        if not business_id:
            return
        try:
            await self.add(business_id, usage.total_tokens)
        except RedisError as exc:
            if not self._fail_open:
                raise
            REDIS_FAIL_OPEN.labels(check="token_budget").inc()
            log.warning("token usage not counted: Redis down", business_id=business_id, error=str(exc))


def seconds_to_midnight(now: datetime | None = None) -> int:
    now = now or datetime.now(UTC)
    tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((tomorrow - now).total_seconds()))


def _key(business_id: str, now: datetime | None) -> str:
    day = (now or datetime.now(UTC)).strftime("%Y-%m-%d")
    return f"{PREFIX}:{business_id}:{day}"
