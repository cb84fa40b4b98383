"""The FastAPI app factory: clients are opened in the lifespan, routers only assemble here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from fastapi import FastAPI
from pymongo import AsyncMongoClient

from bizsql.api import health
from bizsql.config import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for the given (resolved) settings; tests pass their own servers' URLs."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.redis = aioredis.Redis.from_url(settings.redis_url or "redis://127.0.0.1:6379/0")
        app.state.mongo = AsyncMongoClient(
            settings.mongo_url or "mongodb://127.0.0.1:27017", serverSelectionTimeoutMS=2000, tz_aware=True
        )
        try:
            yield
        finally:
            await app.state.redis.aclose()
            await app.state.mongo.close()

    app = FastAPI(title="bizsql", version="0.1.0", lifespan=lifespan)
    app.include_router(health.router)
    return app
