"""The graph's real clients, built from settings: the one place in the graph that knows MongoDB, the
executor (in-process psycopg or the MCP client), the schema index and the LLM.

``build_deps`` wires them lazily, so importing the graph needs no server. ``deps_of`` gives a node the
run's clients: the context's, or one default set per event loop for callers that pass none
(``langgraph dev``, LangServe), because async clients belong to the loop that made them.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any, cast

from pymongo import AsyncMongoClient

from bizsql.config import Settings, get_settings
from bizsql.graph.context import Context
from bizsql.graph.interfaces import ConversationLog, Deps, SqlRunner
from bizsql.llm import LlmBudget, make_llm
from bizsql.retrieval.index import SchemaIndex
from bizsql.retrieval.source import PgSchemaSource
from bizsql.stores.business import CachedBusinessConfigs
from bizsql.stores.mongo import client_options

_DEFAULTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Deps] = weakref.WeakKeyDictionary()
_DEFAULT_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def _executor(settings: Settings, mongo: AsyncMongoClient[dict[str, Any]]) -> SqlRunner:
    """In-process executor by default; the MCP client when ``BIZSQL_MCP_URL`` is set, with the configured
    ``BIZSQL_MCP_TOKEN`` (another deployment's server), else with service tokens signed by our JWT secret.
    A URL tokens may not travel to (plain HTTP beyond loopback) never gets here: Settings refuses it."""
    if settings.mcp_url:
        from bizsql.auth.service_tokens import ServiceTokens
        from bizsql.mcp.client import McpSqlRunner

        token = settings.mcp_token.get_secret_value() if settings.mcp_token is not None else ""
        if token:
            return McpSqlRunner(settings.mcp_url, token=token)
        return McpSqlRunner(settings.mcp_url, service=ServiceTokens(settings.secret_values()[0]))
    from bizsql.sql.executor import MongoAudit, SqlExecutor

    return SqlExecutor(settings, MongoAudit(mongo[settings.mongo_db]))


def _conversations(settings: Settings, mongo: AsyncMongoClient[dict[str, Any]]) -> ConversationLog:
    from bizsql.stores.conversations import ConversationStore

    return ConversationStore(mongo[settings.mongo_db])


def build_deps(
    settings: Settings,
    *,
    budget: LlmBudget | None = None,
    mongo: AsyncMongoClient[dict[str, Any]] | None = None,
    **overrides: Any,
) -> Deps:
    """Real clients from settings (no connection is opened until first use); ``overrides`` replace any."""
    assert settings.mongo_url, "BIZSQL_MONGO_URL must be resolved (embedded_servers) before the graph runs"
    closers: list[Any] = []
    if mongo is None:
        mongo = AsyncMongoClient(settings.mongo_url, **client_options(5000))
        closers.append(mongo.close)
    parts: dict[str, Any] = {
        "settings": settings,
        "configs": CachedBusinessConfigs(mongo[settings.mongo_db], settings.business_config_ttl_seconds),
        "schema_index": SchemaIndex(settings, PgSchemaSource(settings)),
        "llm": make_llm(settings, budget=budget),
    }
    if "executor" not in overrides:
        parts["executor"] = _executor(settings, mongo)
        if closer := getattr(parts["executor"], "close", None):
            closers.append(closer)
    if "conversations" not in overrides:
        parts["conversations"] = _conversations(settings, mongo)
    parts.update(overrides)
    return Deps(**parts, closers=closers)


async def deps_of(context: Context) -> Deps:
    """The context's clients, or the process defaults for this event loop."""
    if context.deps is not None:
        return cast(Deps, context.deps)
    return await default_deps()


async def default_deps() -> Deps:
    """One set of clients per event loop, from the process settings (for callers that pass none)."""
    loop = asyncio.get_running_loop()
    lock = _DEFAULT_LOCKS.setdefault(loop, asyncio.Lock())
    async with lock:
        if loop not in _DEFAULTS:
            _DEFAULTS[loop] = build_deps(get_settings())
        return _DEFAULTS[loop]
