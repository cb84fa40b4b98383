"""The FastAPI app factory: clients are made with the app and opened and closed by its lifespan; routers
only assemble here."""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from uvicorn.config import STARTUP_FAILURE

from bizsql.api.errors import install_error_handlers
from bizsql.api.middleware import (
    BodyLimitMiddleware,
    JsonDepthMiddleware,
    RequestContextMiddleware,
    security_headers,
)
from bizsql.api.routes import auth, businesses, chat, conversations, debug, health, playground
from bizsql.api.routes.langserve import document_streams, graph_router
from bizsql.api.services import Services
from bizsql.config import SERVER_URLS, Settings, get_settings
from bizsql.log import configure_logging
from bizsql.web import routes as web

DESCRIPTION = """Conversational text-to-SQL for many businesses.

Log in with `POST /auth/login`, then send `Authorization: Bearer <access_token>`. Every error is
`{"error": code, "detail": message}`; 429 answers carry `Retry-After`."""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for the given (resolved) settings; tests pass their own servers' URLs."""
    settings = settings or get_settings()
    services = Services.create(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        logging.getLogger("uvicorn.access").disabled = True  # our access line carries the request id
        await services.start()
        try:
            yield
        finally:
            await services.aclose()

    app = FastAPI(
        title="bizsql",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.services = services
    app.state.redis = services.redis
    app.state.mongo = services.mongo
    install_error_handlers(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID", "X-Thread-ID", "Retry-After", "Server-Timing"],
        )
    extra = security_headers(settings.hsts_seconds) if settings.security_headers else []
    app.add_middleware(JsonDepthMiddleware)  # inside the size limit, so what it holds is bounded
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware, extra_headers=extra)
    for module in (health, auth, businesses, chat, conversations, debug):
        app.include_router(module.router)
    app.include_router(playground.router)
    app.include_router(graph_router(services))
    web.mount(app)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        return app.openapi_schema or document_streams(generate())

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def create_worker_app() -> FastAPI:
    """The app of one `bizsql serve --workers N` process, built by uvicorn from this name in a fresh
    interpreter: the settings come from the environment the parent exported (servers and secrets already
    resolved), so a worker never starts servers of its own. SIGHUP is the parent's to act on: a closed
    terminal reaches every process, and the parent stops the workers in order."""
    try:
        settings = get_settings()
        configure_logging(settings.log_level)
        missing = [Settings.variable(key) for key in SERVER_URLS if not getattr(settings, key)]
        if missing:
            raise RuntimeError(f"a worker needs {', '.join(missing)}: start it by `bizsql serve --workers N`")
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        return create_app(settings)
    except Exception:  # uvicorn restarts a worker that fails otherwise, forever; this code stops them all
        logging.getLogger(__name__).exception("the worker could not build the app")
        sys.exit(STARTUP_FAILURE)
