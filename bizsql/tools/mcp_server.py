"""An MCP server for one business: list_tables, describe_table, run_sql, explain_sql over the same guard.

Desktop MCP clients start it over stdio (``bizsql mcp --business acme_retail``); the graph reaches it over
streamable HTTP (``--http PORT``) when ``BIZSQL_MCP_URL`` is set. It acts as one fixed user (by default the
business's read-only analyst), because MCP carries no user identity of its own. Failures come back as tool
errors whose text is JSON ``{"error": code, "reason": ...}``, so a client can tell refusals from faults.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from mcp.server.fastmcp import FastMCP
from mcp.server.fastmcp.exceptions import ToolError
from mcp.types import ToolAnnotations
from pymongo import AsyncMongoClient

from bizsql.auth.identity import Identity
from bizsql.config import Settings
from bizsql.errors import BizsqlError, QueryFailed
from bizsql.stores.business import BusinessConfig, aload_business_config
from bizsql.tools import introspect
from bizsql.tools.executor import ExplainResult, MongoAudit, QueryResult, SqlExecutor, write_refusal
from bizsql.tools.sql_context import load_context

ConfigLoader = Callable[[], Awaitable[BusinessConfig]]
CONFIG_TTL_S = 10.0


def server_name(business_id: str) -> str:
    """The name clients see at initialize; the MCP client checks it to avoid querying the wrong tenant."""
    return f"bizsql-{business_id}"


def build_mcp_server(
    executor: SqlExecutor,
    business: BusinessConfig | ConfigLoader,
    identity: Identity,
    *,
    business_id: str | None = None,
    host: str = "127.0.0.1",
    port: int = 8000,
) -> FastMCP:
    """A FastMCP server bound to one business; ``business`` may be a loader (then name ``business_id``)
    so config edits show up without a restart."""
    load = _loader(business)
    if isinstance(business, BusinessConfig):
        business_id = business.business_id
    assert business_id, "a config loader needs the business_id it loads"
    mcp = FastMCP(
        name=server_name(business_id),
        instructions=(
            f"Read-only SQL over the {business_id} database (PostgreSQL). Call list_tables, then "
            "describe_table for the tables you need, then run_sql with one SELECT. Every statement passes "
            "the bizsql guard; refusals explain why."
        ),
        host=host,
        port=port,
        log_level="WARNING",
    )
    read_only = ToolAnnotations(readOnlyHint=True, openWorldHint=False)

    @mcp.tool(annotations=read_only)
    async def list_tables() -> list[introspect.TableSummary]:
        """Tables and views of this business, with a comment and an estimated row count each."""
        config = await load()
        return await _guarded(_list(executor, config))

    @mcp.tool(annotations=read_only)
    async def describe_table(table: str) -> introspect.TableDescription:
        """Columns (type, nullable, comment, sample values), primary key and foreign keys of one table."""
        config = await load()
        return await _guarded(_describe(executor, config, table))

    writes = ToolAnnotations(readOnlyHint=False, destructiveHint=True, openWorldHint=False)

    @mcp.tool(annotations=read_only if _read_only(business, identity) else writes)
    async def run_sql(sql: str) -> QueryResult:
        """Run one PostgreSQL statement (SELECT, WITH, VALUES, EXPLAIN) and return columns and rows.

        Results are capped at the business's row limit (``truncated`` says so) and time out after its
        statement timeout."""
        config = await load()
        return await _guarded(executor.run(sql, business=config, identity=identity, source="mcp"))

    @mcp.tool(annotations=read_only)
    async def explain_sql(sql: str) -> ExplainResult:
        """The planner's estimated cost and JSON plan of a read query, without running it."""
        config = await load()
        return await _guarded(executor.explain(sql, business=config))

    return mcp


async def serve(
    settings: Settings,
    business_id: str,
    *,
    username: str | None = None,
    http_port: int | None = None,
    host: str = "127.0.0.1",
) -> None:
    """Run the server until the client hangs up (stdio) or the process is stopped (HTTP)."""
    assert settings.mongo_url
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongo_url, serverSelectionTimeoutMS=5000, tz_aware=True
    )
    executor = SqlExecutor(settings, MongoAudit(mongo[settings.mongo_db]))
    try:
        _, identity = await load_context(mongo, settings, business_id, username)
        loader = cached_config_loader(mongo, settings, business_id)
        await loader()
        mcp = build_mcp_server(
            executor, loader, identity, business_id=business_id, host=host, port=http_port or settings.port
        )
        if http_port is None:
            await mcp.run_stdio_async()
        else:
            await mcp.run_streamable_http_async()
    finally:
        await executor.close()
        await mongo.close()


def cached_config_loader(
    mongo: AsyncMongoClient[dict[str, Any]], settings: Settings, business_id: str, ttl: float = CONFIG_TTL_S
) -> ConfigLoader:
    """The business config from MongoDB, reused for ``ttl`` seconds (an edited row cap shows up soon)."""
    cached: list[tuple[float, BusinessConfig]] = []

    async def load() -> BusinessConfig:
        if cached and time.monotonic() - cached[0][0] < ttl:
            return cached[0][1]
        config = await aload_business_config(mongo[settings.mongo_db], business_id)
        cached[:] = [(time.monotonic(), config)]
        return config

    return load


def _loader(business: BusinessConfig | ConfigLoader) -> ConfigLoader:
    if not isinstance(business, BusinessConfig):
        return business
    fixed = business

    async def load() -> BusinessConfig:
        return fixed

    return load


def _read_only(business: BusinessConfig | ConfigLoader, identity: Identity) -> bool:
    if isinstance(business, BusinessConfig):
        return write_refusal(business, identity) is not None
    return not identity.may_write


async def _guarded(call: Awaitable[Any]) -> Any:
    """Typed bizsql errors become tool errors with a JSON body the client maps back."""
    try:
        return await call
    except BizsqlError as exc:
        raise ToolError(json.dumps({"error": exc.code, "reason": exc.detail})) from exc
    except psycopg.Error as exc:
        raise ToolError(json.dumps({"error": QueryFailed.code, "reason": str(exc).strip()})) from exc


async def _list(executor: SqlExecutor, business: BusinessConfig) -> list[introspect.TableSummary]:
    async with executor.reader_connection(business) as conn:
        return await introspect.list_tables(conn)


async def _describe(
    executor: SqlExecutor, business: BusinessConfig, table: str
) -> introspect.TableDescription:
    samples = 0 if business.privacy_mode else 3
    async with executor.reader_connection(business) as conn:
        return await introspect.describe_table(conn, table, sample_values=samples)
