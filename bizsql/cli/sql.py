"""`bizsql sql check|run` and `bizsql mcp`: the guard and executor for operators and scripts.

Same code path as the graph: ``run`` loads the business config and the user from MongoDB and calls
``SqlExecutor.run``. Output is one JSON object on stdout; exit codes are 0 (ok), 2 (unknown business or
user, servers unavailable), 3 (refused) and 4 (database error or timeout).
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Annotated, Any, NoReturn

import typer
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from bizsql.config import Settings
from bizsql.embedded import EmbeddedUnavailable, embedded_servers
from bizsql.errors import BizsqlError, NotFound, SqlRejected, TenantDenied
from bizsql.log import configure_logging
from bizsql.sql.caller import load_context
from bizsql.sql.guard import check_sql
from bizsql.stores.mongo import client_options

EXIT_OK, EXIT_USAGE, EXIT_REFUSED, EXIT_DB_ERROR = 0, 2, 3, 4

sql_app = typer.Typer(
    help="Check or run one SQL statement through the guard and executor, as the service does.",
    no_args_is_help=True,
)

BusinessOption = Annotated[str, typer.Option("--business", "-b", help="Business id, e.g. acme_retail.")]
SqlArgument = Annotated[str, typer.Argument(help="One SQL statement ('-' reads it from stdin).")]


def _emit(payload: dict[str, Any], code: int) -> None:
    typer.echo(json.dumps(payload, ensure_ascii=False, default=str))
    raise typer.Exit(code)


def _statement(sql: str) -> str:
    return sys.stdin.read() if sql == "-" else sql


def _settings() -> Settings:
    settings = Settings()
    configure_logging(settings.log_level)
    return settings


@sql_app.command("check")
def check(
    sql: SqlArgument,
    business: BusinessOption,
    writes: Annotated[bool, typer.Option("--writes", help="Judge as if writes were allowed.")] = False,
) -> None:
    """Print the guard's verdict as JSON; exit 0 when allowed, 3 when refused. Nothing runs."""
    verdict = check_sql(_statement(sql), allow_writes=writes)
    _emit(verdict.model_dump(), EXIT_OK if verdict.allowed else EXIT_REFUSED)


@sql_app.command("run")
def run(
    sql: SqlArgument,
    business: BusinessOption,
    as_user: Annotated[
        str | None,
        typer.Option("--as", help="Run as this user (default: the business's analyst, read-only)."),
    ] = None,
) -> None:
    """Run through the guard and executor; prints columns, rows, row_count and truncated as JSON."""
    settings = _settings()
    try:
        with embedded_servers(settings) as resolved:
            payload, code = asyncio.run(_run(resolved, business, as_user, _statement(sql)))
    except EmbeddedUnavailable as exc:
        payload, code = {"error": "unavailable", "reason": str(exc)}, EXIT_USAGE
    _emit(payload, code)


async def _run(
    settings: Settings, business_id: str, username: str | None, sql: str
) -> tuple[dict[str, Any], int]:
    from bizsql.sql.executor import MongoAudit, SqlExecutor

    assert settings.mongo_url
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongo_url, **client_options(5000))
    executor = SqlExecutor(settings, MongoAudit(mongo[settings.mongo_db]))
    try:
        business, identity = await load_context(mongo, settings, business_id, username)
        result = await executor.run(sql, business=business, identity=identity, source="cli")
    except NotFound as exc:
        return {"error": exc.code, "reason": exc.detail}, EXIT_USAGE
    except (SqlRejected, TenantDenied) as exc:
        return {"error": exc.code, "reason": exc.detail}, EXIT_REFUSED
    except BizsqlError as exc:  # QueryFailed, QueryTimeout
        return {"error": exc.code, "reason": exc.detail}, EXIT_DB_ERROR
    except PyMongoError as exc:
        return {"error": "unavailable", "reason": f"MongoDB: {exc}"}, EXIT_USAGE
    finally:
        await executor.close()
        await mongo.close()
    payload: dict[str, Any] = result.model_dump(include={"columns", "rows", "row_count", "truncated"})
    if result.kind == "write":
        payload["rows_affected"] = result.rows_affected
    return payload, EXIT_OK


def mcp_command(
    business: Annotated[
        str | None,
        typer.Option(
            "--business",
            "-b",
            help="Business id. Stdio: required. HTTP: the default for calls that name none.",
        ),
    ] = None,
    http: Annotated[
        int | None,
        typer.Option(
            "--http",
            help="Serve streamable HTTP on this port; every request needs a bearer access token "
            "(or a service token of this deployment).",
        ),
    ] = None,
    host: Annotated[
        str,
        typer.Option(
            help="Bind address for --http. The server speaks plain HTTP: beyond loopback, put it behind a "
            "TLS reverse proxy, or bearer tokens cross the network in clear.",
        ),
    ] = "127.0.0.1",
    as_user: Annotated[
        str | None,
        typer.Option("--as", help="Stdio only: act as this user (default: the business's analyst)."),
    ] = None,
) -> None:
    """Serve list_tables, describe_table, run_sql and explain_sql over MCP.

    Stdio: a local process you started, acting as the --as user of --business.

    HTTP: each request acts as its bearer token's user (POST /auth/login); admins may name any business.
    A service token signed with this deployment's JWT secret (the graph's, with BIZSQL_MCP_URL) acts as
    the one user it was minted for, with that user's rights. Plain HTTP only: expose it beyond loopback
    only behind TLS (a reverse proxy).
    """
    from bizsql.mcp.server import serve
    from bizsql.mcp.stdio import stdin_ended_by_signals

    if http is None and business is None:
        _usage_error("stdio serves one business: name it with --business")
    if http is not None and as_user is not None:
        _usage_error("--as is for stdio; over HTTP each request acts as its bearer token's user")
    settings = _settings()
    try:
        with embedded_servers(settings) as resolved:
            if http is not None:
                asyncio.run(serve(resolved, business, username=as_user, http_port=http, host=host))
                return
            with stdin_ended_by_signals() as hangup:
                asyncio.run(serve(resolved, business, username=as_user))
    except (EmbeddedUnavailable, NotFound) as exc:
        _usage_error(str(exc))
    if hangup.signal is not None:  # the servers it started are stopped: now end as the signal asked
        raise typer.Exit(128 + hangup.signal)


def _usage_error(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_USAGE) from None
