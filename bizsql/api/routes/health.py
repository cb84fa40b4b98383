"""Operations: /healthz (the process runs), /readyz (its three stores answer) and /metrics (Prometheus)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import psycopg
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pymongo import AsyncMongoClient
from pymongo.errors import AutoReconnect, ServerSelectionTimeoutError

from bizsql.metrics import REGISTRY

router = APIRouter(tags=["operations"])
CHECK_TIMEOUT_S = 2.0


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    names = ("postgres", "redis", "mongo")
    outcomes = await asyncio.gather(
        _check(_postgres(state.settings.postgres_url)),
        _check(state.redis.ping()),
        _check(_mongo(state.mongo)),
    )
    results = dict(zip(names, outcomes, strict=True))
    services = getattr(state, "services", None)
    if services is not None and not services.indexes_ready:
        results["indexes"] = "pending: stores' indexes are not set up yet"
    failing = [f"{name} {state}" for name, state in results.items() if state != "ok"]
    if not failing:
        return JSONResponse({"status": "ready", "checks": results})
    body = {"error": "not_ready", "detail": "; ".join(failing), "status": "not ready", "checks": results}
    return JSONResponse(body, 503)


async def _check(probe: Awaitable[Any]) -> str:
    """Each store gets its own time limit, and all are asked at once, so /readyz answers within one."""
    try:
        await asyncio.wait_for(probe, CHECK_TIMEOUT_S)
    except Exception as exc:
        return f"down: {type(exc).__name__}"
    return "ok"


async def _postgres(url: str | None) -> Any:
    async with await psycopg.AsyncConnection.connect(url or "", connect_timeout=2) as conn:
        return await conn.execute("SELECT 1")


async def _mongo(client: AsyncMongoClient[dict[str, Any]]) -> Any:
    """A ping on a pooled connection the server has already closed fails once with AutoReconnect, and
    pymongo retries reads and writes once for that but not commands; a ping changes nothing, so it gets the
    same single retry (inside the same time limit: a server that is down still fails)."""
    try:
        return await client.admin.command("ping")
    except AutoReconnect as exc:
        if isinstance(exc, ServerSelectionTimeoutError):
            raise
        return await client.admin.command("ping")


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
async def metrics() -> Response:
    """Prometheus text format: requests, latency, LLM calls and tokens, SQL refusals, cache hits."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
