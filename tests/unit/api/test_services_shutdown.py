"""Shutdown ends even when a client never finishes closing: the others are still closed, and it says which."""

from __future__ import annotations

import asyncio
import time

import pytest
import structlog
from pydantic import SecretStr

from bizsql.api import services as services_module
from bizsql.api.services import Services
from bizsql.config import Settings


def unreachable_services() -> Services:
    """Clients for servers that are not there: nothing connects until first use, so none is needed."""
    settings = Settings(
        redis_url="redis://127.0.0.1:9/0",
        mongo_url="mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=100",
        postgres_url="postgresql://postgres@127.0.0.1:9/postgres",
        role_secret=SecretStr("test-role-secret"),
    )
    return Services.create(settings)


async def test_a_client_stuck_closing_does_not_keep_shutdown_from_ending(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(services_module, "CLOSE_TIMEOUT_S", 0.2)
    services = unreachable_services()
    closed: list[str] = []

    async def never_closes() -> None:
        await asyncio.Event().wait()

    async def closes() -> None:
        closed.append("redis")

    services.deps.closers = [never_closes]
    monkeypatch.setattr(services.redis, "aclose", closes)
    started = time.perf_counter()
    with structlog.testing.capture_logs() as logs:
        await services.aclose()
    assert time.perf_counter() - started < 3
    assert closed == ["redis"]  # the stuck client did not keep the next one open
    assert any(
        entry["event"].startswith("client did not close in time") and entry["client"] == "graph clients"
        for entry in logs
    )


async def test_a_background_task_that_ignores_cancellation_does_not_block_shutdown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(services_module, "CLOSE_TIMEOUT_S", 0.2)
    services = unreachable_services()

    released = False

    async def stubborn() -> None:
        while not released:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                continue  # a library that swallows the cancel

    task = asyncio.create_task(stubborn())
    services._tasks.append(task)
    await asyncio.sleep(0)
    started = time.perf_counter()
    await services.aclose()
    assert time.perf_counter() - started < 3
    released = True
    task.cancel()
    await task
