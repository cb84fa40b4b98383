"""An MCP server: list_tables, describe_table, run_sql, explain_sql over the same guard and executor.

Over stdio (``bizsql mcp --business acme_retail``) it is a local process the user started, so it acts as
the user named with ``--as`` (by default the business's read-only analyst). Over streamable HTTP
(``--http PORT``) every request must carry ``Authorization: Bearer``: a user's access token from the REST
API's POST /auth/login, or a service token of this deployment (the graph's MCP client) minted for one user
(see ``mcp.auth``). Each call runs as the token's user, with that user's rights as stored now: their own
business (an admin names any), their role's writes. The server speaks plain HTTP: beyond loopback, put it
behind TLS (a reverse proxy), or the tokens cross the network in clear. A call refused another
business is audited like the executor's refusals. Failures come back as tool errors whose text is JSON
``{"error": code, "reason": ...}``, so a client can tell refusals from faults; a refused token is an HTTP
401 ``{"error", "detail"}`` before any tool runs.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import psycopg
import redis.asyncio as aioredis
import structlog
import uvicorn
from mcp.server.auth.settings import AuthSettings
from mcp.server.fastmcp import Context, FastMCP
from mcp.server.fastmcp.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import AnyHttpUrl, Field
from pymongo import AsyncMongoClient

from bizsql.auth.identity import ALL_BUSINESSES, Identity
from bizsql.auth.service_tokens import ServiceTokens
from bizsql.auth.tokens import TokenService
from bizsql.auth.users import UserDirectory
from bizsql.config import Settings
from bizsql.errors import BizsqlError, NotFound, QueryFailed, TenantDenied
from bizsql.mcp.auth import AccessTokenVerifier, acting_user, explain_refusals
from bizsql.sql import introspect
from bizsql.sql.audit import AuditEntry
from bizsql.sql.caller import load_context
from bizsql.sql.executor import MongoAudit, SqlExecutor
from bizsql.sql.guard import Verdict
from bizsql.sql.result import ExplainResult, QueryResult
from bizsql.stores.business import BusinessConfig, CachedBusinessConfigs
from bizsql.stores.mongo import client_options

log = structlog.get_logger(__name__)

T = TypeVar("T")
ConfigLoader = Callable[[str], Awaitable[BusinessConfig]]
BusinessArg = Annotated[
    str | None,
    Field(description="Business id, e.g. acme_retail. Default: the server's business, else your own."),
]
CONFIG_TTL_S = 10.0
REDIS_TIMEOUT_S = 2.0


def server_name(business_id: str | None) -> str:
    """The name clients see at initialize: the default business when the server has one."""
    return f"bizsql-{business_id}" if business_id else "bizsql"


def build_mcp_server(
    executor: SqlExecutor,
    configs: ConfigLoader,
    identity: Identity | None,
    *,
    business_id: str | None = None,
    verifier: AccessTokenVerifier | None = None,
    issuer_url: str = "http://127.0.0.1:8000",
    host: str = "127.0.0.1",
    port: int = 8000,
) -> FastMCP:
    """A FastMCP server acting as ``identity`` (stdio, in-process) or, with a ``verifier``, as each HTTP
    request's token user (an access token's, or the one a service token was minted for). ``business_id``
    is the business of calls that name none."""
    assert (identity is None) != (verifier is None), "act as one fixed user, or as each token's user"
    auth = None
    if verifier is not None:
        # No resource_server_url: we are not an OAuth authorization server, so we advertise no
        # protected-resource metadata that would send OAuth clients looking for one.
        auth = AuthSettings(issuer_url=AnyHttpUrl(issuer_url), resource_server_url=None)
    mcp = FastMCP(
        name=server_name(business_id),
        instructions=(
            f"Read-only SQL over {business_id or 'your business'}'s database (PostgreSQL). Call list_tables, "
            "then describe_table for the tables you need, then run_sql with one SELECT. Every statement "
            "passes the bizsql guard; refusals explain why."
        ),
        token_verifier=verifier,
        auth=auth,
        host=host,
        port=port,
        log_level="WARNING",
    )

    users = verifier.users if verifier is not None else None

    async def scope(
        ctx: Context[Any, Any, Any], business: str | None, tool: str, sql: str = ""
    ) -> tuple[BusinessConfig, Identity]:
        caller = await acting_user(ctx, identity, users)
        target = _business_of(caller, business, business_id)
        if not caller.may_access(target):
            denied = TenantDenied(f"user {caller.username!r} may not access business {target!r}")
            await _audit_denied(executor, caller, target, tool, sql, denied)
            raise denied
        return await configs(target), caller

    read_only = ToolAnnotations(readOnlyHint=True, openWorldHint=False)
    writes = ToolAnnotations(readOnlyHint=False, destructiveHint=True, openWorldHint=False)

    @mcp.tool(annotations=read_only)
    async def list_tables(
        ctx: Context[Any, Any, Any], business: BusinessArg = None
    ) -> list[introspect.TableSummary]:
        """Tables and views of the business, with a comment and an estimated row count each."""
        config, _ = await _guarded(scope(ctx, business, "list_tables"))
        return await _guarded(_list(executor, config))

    @mcp.tool(annotations=read_only)
    async def describe_table(
        table: str, ctx: Context[Any, Any, Any], business: BusinessArg = None
    ) -> introspect.TableDescription:
        """Columns (type, nullable, comment, sample values), primary key and foreign keys of one table."""
        config, _ = await _guarded(scope(ctx, business, "describe_table"))
        return await _guarded(_describe(executor, config, table))

    @mcp.tool(annotations=read_only if identity is not None and not identity.may_write else writes)
    async def run_sql(sql: str, ctx: Context[Any, Any, Any], business: BusinessArg = None) -> QueryResult:
        """Run one PostgreSQL statement (SELECT, WITH, VALUES, EXPLAIN) and return columns and rows.

        Results are capped at the business's row limit (``truncated`` says so) and time out after its
        statement timeout. Writes run only for editors and admins of a business that allows them."""
        config, caller = await _guarded(scope(ctx, business, "run_sql", sql))
        return await _guarded(executor.run(sql, business=config, identity=caller, source="mcp"))

    @mcp.tool(annotations=read_only)
    async def explain_sql(
        sql: str, ctx: Context[Any, Any, Any], business: BusinessArg = None
    ) -> ExplainResult:
        """The planner's estimated cost and JSON plan of a read query, without running it."""
        config, _ = await _guarded(scope(ctx, business, "explain_sql", sql))
        return await _guarded(executor.explain(sql, business=config))

    return mcp


def _business_of(caller: Identity, requested: str | None, default: str | None) -> str:
    """The named business, else the server's, else the caller's own (an admin has none)."""
    business_id = requested or default or caller.business_id
    if business_id == ALL_BUSINESSES:
        raise NotFound("name a business (the business argument): this server has no default one")
    return business_id


async def _audit_denied(
    executor: SqlExecutor, caller: Identity, business_id: str, tool: str, sql: str, exc: TenantDenied
) -> None:
    """Record a call refused another business, as ``SqlExecutor.run`` records its refusals: who probed
    what. A lost audit write is logged, not raised: the caller is refused either way."""
    if executor.audit is None:
        return
    verdict = Verdict(allowed=False, kind="unknown", reason="not your business", tables=[])
    entry = AuditEntry(
        business_id=business_id, user=caller.username, role=caller.role, source="mcp", sql=sql,
        kind=verdict.kind, verdict=verdict.model_dump(), outcome="refused", error=f"{tool}: {exc.detail}",
    )  # fmt: skip
    try:
        await executor.audit.record(entry)
    except Exception as error:
        log.error("audit_write_failed", business=business_id, error=str(error))


async def serve(
    settings: Settings,
    business_id: str | None,
    *,
    username: str | None = None,
    http_port: int | None = None,
    host: str = "127.0.0.1",
) -> None:
    """Run the server until the client hangs up (stdio) or the process is stopped (HTTP)."""
    assert settings.mongo_url
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongo_url, **client_options(5000))
    executor = SqlExecutor(settings, MongoAudit(mongo[settings.mongo_db]))
    configs = CachedBusinessConfigs(mongo[settings.mongo_db], CONFIG_TTL_S).get
    try:
        if http_port is None:
            assert business_id, "stdio serves the business named on the command line"
            _, identity = await load_context(mongo, settings, business_id, username)
            await build_mcp_server(executor, configs, identity, business_id=business_id).run_stdio_async()
        else:
            if business_id:
                await configs(business_id)  # an unknown business fails now, not at the first call
            await _serve_http(settings, mongo, executor, configs, business_id, host, http_port)
    finally:
        await executor.close()
        await mongo.close()


async def _serve_http(
    settings: Settings,
    mongo: AsyncMongoClient[dict[str, Any]],
    executor: SqlExecutor,
    configs: ConfigLoader,
    business_id: str | None,
    host: str,
    port: int,
) -> None:
    """Streamable HTTP behind the SDK's bearer auth: bizsql's access tokens (sessions, users as stored)
    or this deployment's service tokens."""
    assert settings.redis_url
    redis = aioredis.Redis.from_url(
        settings.redis_url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S
    )
    verifier = AccessTokenVerifier(
        TokenService(settings, redis),
        UserDirectory(mongo[settings.mongo_db], settings.user_recheck_seconds),
        service=ServiceTokens(settings.secret_values()[0]),
        redis_fail_open=settings.redis_fail_open,
    )
    api_host = f"[{settings.host}]" if ":" in settings.host else settings.host
    mcp = build_mcp_server(
        executor, configs, None, business_id=business_id, verifier=verifier,
        issuer_url=f"http://{api_host}:{settings.port}", host=host, port=port,
    )  # fmt: skip
    app = explain_refusals(mcp.streamable_http_app())
    try:
        await uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning")).serve()
    finally:
        await redis.aclose()


async def _guarded(call: Awaitable[T]) -> T:
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
