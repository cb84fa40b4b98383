"""The clients one app instance shares between requests: made with the app, opened and closed by its lifespan.

They are built when the app is (no connection opens until first use), because LangServe's routes need the
graph when they are mounted; the lifespan creates indexes, starts the checkpointer's background flush and
closes everything at shutdown.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
import structlog
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from bizsql.auth.budget import TokenBudget
from bizsql.auth.rate_limit import RateLimiter
from bizsql.auth.tokens import TokenService
from bizsql.auth.users import UserDirectory
from bizsql.checkpointers import AsyncRedisMongoSaver
from bizsql.config import Settings
from bizsql.graph.builder import build_graph
from bizsql.graph.clients import build_deps
from bizsql.graph.dry_run import build_dry_run_graph
from bizsql.graph.interfaces import Deps
from bizsql.graph.run import Graph
from bizsql.retrieval.embeddings import get_embeddings
from bizsql.stores.business import CachedBusinessConfigs
from bizsql.stores.conversations import ConversationStore
from bizsql.stores.mongo import client_options

log = structlog.get_logger(__name__)

REDIS_TIMEOUT_S = 2.0
INDEX_RETRY_SECONDS = 5.0
MONGO_TIMEOUT_MS = 3000
CLOSE_TIMEOUT_S = 5.0
"""How long shutdown waits for one background task or client: a client stuck closing (pymongo's close joins
its monitor tasks, with no timeout of its own) must not keep the process, or the others, from ending."""


@dataclass
class Services:
    settings: Settings
    redis: aioredis.Redis
    mongo: AsyncMongoClient[dict[str, Any]]
    tokens: TokenService
    users: UserDirectory
    limiter: RateLimiter
    budget: TokenBudget
    configs: CachedBusinessConfigs
    conversations: ConversationStore
    checkpointer: AsyncRedisMongoSaver
    deps: Deps
    graph: Graph
    dry_run_graph: Graph
    indexes_ready: bool = False
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def db(self) -> AsyncDatabase[dict[str, Any]]:
        return self.mongo[self.settings.mongo_db]

    @classmethod
    def create(cls, settings: Settings) -> Services:
        """Clients that fail fast when a store is down, so a request errors instead of hanging."""
        assert settings.redis_url and settings.mongo_url, "resolve the server URLs first (embedded_servers)"
        redis = aioredis.Redis.from_url(
            settings.redis_url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S
        )
        mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            settings.mongo_url, **client_options(MONGO_TIMEOUT_MS)
        )
        configs = CachedBusinessConfigs(mongo[settings.mongo_db], settings.business_config_ttl_seconds)
        budget = TokenBudget(redis, configs, fail_open=settings.redis_fail_open)
        conversations = ConversationStore(mongo[settings.mongo_db])
        checkpointer = AsyncRedisMongoSaver.from_settings(settings)
        deps = build_deps(settings, budget=budget, mongo=mongo, configs=configs, conversations=conversations)
        return cls(
            settings=settings,
            redis=redis,
            mongo=mongo,
            tokens=TokenService(settings, redis),
            users=UserDirectory(mongo[settings.mongo_db], settings.user_recheck_seconds),
            limiter=RateLimiter(settings.redis_url, redis),
            budget=budget,
            configs=configs,
            conversations=conversations,
            checkpointer=checkpointer,
            deps=deps,
            graph=build_graph(checkpointer),
            dry_run_graph=build_dry_run_graph(),
        )

    async def start(self) -> None:
        """Load the embedding model off the event loop (loading it inside a request would stall the loop
        for seconds), then indexes (idempotent, and not fatal: a store that is down now may answer later)."""
        started = time.perf_counter()
        await asyncio.to_thread(get_embeddings)
        log.info("embedding model ready", seconds=round(time.perf_counter() - started, 2))
        if not await self.set_up_indexes():
            self._tasks.append(asyncio.create_task(self._retry_index_setup()))
        self._tasks.append(
            asyncio.create_task(self.checkpointer.flush_forever(self.settings.memory_flush_seconds))
        )

    async def set_up_indexes(self) -> bool:
        """Create the stores' indexes; the thread-owner index is what keeps one user out of another's thread,
        so /readyz answers 503 until this has succeeded."""
        for name, setup in (
            ("checkpointer", self.checkpointer.asetup),
            ("conversations", self.conversations.setup),
        ):
            try:
                await setup()
            except Exception as exc:
                log.warning("index set-up failed; will retry", part=name, error=str(exc))
                return False
        self.indexes_ready = True
        return True

    async def _retry_index_setup(self) -> None:
        while not await self.set_up_indexes():
            await asyncio.sleep(INDEX_RETRY_SECONDS)

    async def aclose(self) -> None:
        """Stop the background tasks, then close each client; every step is bounded, none stops the rest."""
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            _, stuck = await asyncio.wait(self._tasks, timeout=CLOSE_TIMEOUT_S)
            if stuck:
                log.warning("background tasks did not stop in time; left behind", tasks=len(stuck))
        self._tasks.clear()
        for name, close in (
            ("graph clients", self.deps.aclose),
            ("checkpointer", self.checkpointer.aclose),
            ("redis", self.redis.aclose),
            ("mongo", self.mongo.close),
        ):
            await _close_within(name, close, CLOSE_TIMEOUT_S)


async def _close_within(name: str, close: Callable[[], Awaitable[Any]], seconds: float) -> None:
    """Await one client's close for at most ``seconds`` (in a task of its own, so a close that swallows its
    cancellation cannot hold shutdown either); a failure is logged, never raised."""
    try:
        task = asyncio.ensure_future(close())
    except Exception as failure:
        log.warning("client did not close cleanly", client=name, error=str(failure))
        return
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        task.cancel()
        log.warning("client did not close in time; left behind", client=name, seconds=seconds)
    elif (exc := task.exception()) is not None:
        log.warning("client did not close cleanly", client=name, error=str(exc))
