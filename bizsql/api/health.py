"""Liveness and readiness: /healthz says the process runs, /readyz that its three stores answer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import psycopg
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

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
        _check(state.mongo.admin.command("ping")),
    )
    results = dict(zip(names, outcomes, strict=True))
    ready = all(v == "ok" for v in results.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": results}, 200 if ready else 503
    )


async def _check(probe: Awaitable[Any]) -> str:
    try:
        await asyncio.wait_for(probe, CHECK_TIMEOUT_S)
    except Exception as exc:
        return f"down: {type(exc).__name__}"
    return "ok"


async def _postgres(url: str | None) -> Any:
    async with await psycopg.AsyncConnection.connect(url or "", connect_timeout=2) as conn:
        return await conn.execute("SELECT 1")
