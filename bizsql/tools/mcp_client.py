"""The executor's stand-in when ``BIZSQL_MCP_URL`` is set: the same ``run`` contract, over MCP.

One short streamable-HTTP session per call (a few milliseconds, small beside an LLM turn), so no session
outlives the event loop that opened it. The server's name says which business it serves; a call for
another business is refused here rather than answered with the wrong tenant's data. Tool errors carry
the server's typed error as JSON and are raised again here as the same bizsql errors.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client
from mcp.types import CallToolResult, TextContent

from bizsql.auth.identity import Identity
from bizsql.errors import BizsqlError, NotFound, QueryFailed, QueryTimeout, SqlRejected, TenantDenied
from bizsql.stores.business import BusinessConfig
from bizsql.tools.executor import ExplainResult, QueryResult
from bizsql.tools.mcp_server import server_name

_ERRORS: dict[str, type[BizsqlError]] = {
    SqlRejected.code: SqlRejected,
    QueryTimeout.code: QueryTimeout,
    QueryFailed.code: QueryFailed,
    TenantDenied.code: TenantDenied,
    NotFound.code: NotFound,
}


class McpSqlRunner:
    """Runs SQL on a `bizsql mcp --http` server; raises the same typed errors as ``SqlExecutor``."""

    def __init__(self, url: str, *, timeout_s: float = 60.0) -> None:
        self.url = url
        self.timeout_s = timeout_s

    async def run(self, sql: str, *, business: BusinessConfig, identity: Identity) -> QueryResult:
        if not identity.may_access(business.business_id):
            raise TenantDenied(f"{identity.username} may not query {business.business_id}")
        result = await self._call(business, "run_sql", {"sql": sql})
        return QueryResult.model_validate(result)

    async def explain(self, sql: str, *, business: BusinessConfig) -> ExplainResult:
        return ExplainResult.model_validate(await self._call(business, "explain_sql", {"sql": sql}))

    async def explain_cost(self, sql: str, *, business: BusinessConfig) -> float:
        return (await self.explain(sql, business=business)).estimated_cost

    async def list_tools(self, business: BusinessConfig) -> list[str]:
        async with self._session(business) as session:
            return [tool.name for tool in (await session.list_tools()).tools]

    async def close(self) -> None:
        """Nothing stays open between calls."""

    async def _call(self, business: BusinessConfig, tool: str, arguments: dict[str, Any]) -> Any:
        try:
            async with self._session(business) as session:
                result = await session.call_tool(tool, arguments)
        except Exception as exc:
            ours = _ours(exc)
            if ours is not None:
                raise ours from None
            raise QueryFailed(f"the MCP server at {self.url} is unreachable: {exc}") from exc
        return _unwrap(result)

    @asynccontextmanager
    async def _session(self, business: BusinessConfig) -> AsyncIterator[ClientSession]:
        async with (
            streamablehttp_client(self.url, timeout=self.timeout_s) as (read, write, _),
            ClientSession(read, write) as session,
        ):
            init = await session.initialize()
            expected = server_name(business.business_id)
            if init.serverInfo.name != expected:
                raise TenantDenied(
                    f"the MCP server at {self.url} serves {init.serverInfo.name!r}, not {expected!r}"
                )
            yield session


def _ours(exc: BaseException) -> BizsqlError | None:
    """Our own error, even when the MCP client's task group wrapped it in an exception group."""
    if isinstance(exc, BizsqlError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = _ours(inner)
            if found is not None:
                return found
    return None


def _unwrap(result: CallToolResult) -> Any:
    text = "".join(c.text for c in result.content if isinstance(c, TextContent))
    if result.isError:
        raise _error_from(text)
    if result.structuredContent is not None:
        return result.structuredContent
    return json.loads(text)


def _error_from(text: str) -> BizsqlError:
    """FastMCP prefixes the message ("Error executing tool run_sql: {...}"); the JSON body follows."""
    try:
        body = json.loads(text[text.index("{") :])
        return _ERRORS.get(body["error"], QueryFailed)(body["reason"])
    except (ValueError, KeyError, TypeError):
        return QueryFailed(text or "the MCP server reported an error")
