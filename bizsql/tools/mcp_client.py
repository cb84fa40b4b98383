"""The executor's stand-in when ``BIZSQL_MCP_URL`` is set: the same ``run`` contract, over MCP.

One short streamable-HTTP session per call (a few milliseconds, small beside an LLM turn), so no session
outlives the event loop that opened it. Every tool call names its business, and every request carries
``Authorization: Bearer``, in one of two ways:

- a service token (the default, for a `bizsql mcp --http` of the same deployment): signed here with the
  shared JWT secret, valid five minutes and reused until a minute before it expires, and each call names
  the asking user in ``as_user``. The server then applies that user's rights as stored now and audits
  their refusals, so nothing is refused here.
- a fixed token (``BIZSQL_MCP_TOKEN``, for a server of another deployment): the server acts as that
  token's user, so a turn for another business, or a write the asking user may not make, is refused here
  before anything is sent.

Tool errors carry the server's typed error as JSON and are raised again here as the same bizsql errors; a
refused bearer is a ``ServiceUnavailable`` (the service's configuration, not the asking user, is at fault).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, TextContent

from bizsql.auth.identity import Identity
from bizsql.auth.service_tokens import ServiceTokens
from bizsql.errors import (
    AuthFailed,
    BizsqlError,
    NotFound,
    QueryFailed,
    QueryTimeout,
    ServiceUnavailable,
    SqlRejected,
    TenantDenied,
)
from bizsql.stores.business import BusinessConfig
from bizsql.tools.executor import ExplainResult, QueryResult, write_refusal
from bizsql.tools.sql_guard import judge_sql

E = TypeVar("E", bound=BaseException)
_ERRORS: dict[str, type[BizsqlError]] = {
    SqlRejected.code: SqlRejected,
    QueryTimeout.code: QueryTimeout,
    QueryFailed.code: QueryFailed,
    TenantDenied.code: TenantDenied,
    NotFound.code: NotFound,
    AuthFailed.code: AuthFailed,
    ServiceUnavailable.code: ServiceUnavailable,
}
RENEW_BEFORE_S = 60
_REASON = re.compile(r'error_description="([^"]*)"')


class McpSqlRunner:
    """Runs SQL on a `bizsql mcp --http` server; raises the same typed errors as ``SqlExecutor``.

    ``service`` signs service tokens and names the asking user on each call; ``token`` is a fixed bearer
    instead (an access token of the server's deployment). With neither, requests carry no bearer.
    """

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        service: ServiceTokens | None = None,
        timeout_s: float = 60.0,
    ) -> None:
        assert token is None or service is None, "a fixed token or service tokens, not both"
        self.url = url
        self.token = token
        self.service = service
        self.timeout_s = timeout_s
        self._minted: tuple[str, int] | None = None

    async def run(self, sql: str, *, business: BusinessConfig, identity: Identity) -> QueryResult:
        """As ``identity``: named to the server with a service token, else enforced here, since a fixed
        token's user may reach more (an admin's token)."""
        if self.service is None:
            if not identity.may_access(business.business_id):
                raise TenantDenied(f"{identity.username} may not query {business.business_id}")
            _refuse_writes_beyond(sql, business, identity)
        result = await self._call("run_sql", {"sql": sql, **self._scope(business, identity)})
        return QueryResult.model_validate(result)

    async def explain(
        self, sql: str, *, business: BusinessConfig, identity: Identity | None = None
    ) -> ExplainResult:
        """The plan of a read; with service tokens, ``identity`` tells the server whose rights apply."""
        result = await self._call("explain_sql", {"sql": sql, **self._scope(business, identity)})
        return ExplainResult.model_validate(result)

    async def explain_cost(
        self, sql: str, *, business: BusinessConfig, identity: Identity | None = None
    ) -> float:
        return (await self.explain(sql, business=business, identity=identity)).estimated_cost

    async def list_tools(self) -> list[str]:
        async with self._session() as session:
            return [tool.name for tool in (await session.list_tools()).tools]

    async def close(self) -> None:
        """Nothing stays open between calls."""

    def _scope(self, business: BusinessConfig, identity: Identity | None) -> dict[str, str]:
        scope = {"business": business.business_id}
        if self.service is not None and identity is not None:
            scope["as_user"] = identity.username
        return scope

    def _bearer(self) -> str | None:
        """The fixed token, or a service token reused until a minute before it expires."""
        if self.service is None:
            return self.token
        if self._minted is None or self._minted[1] - time.time() < RENEW_BEFORE_S:
            self._minted = self.service.issue()
        return self._minted[0]

    async def _call(self, tool: str, arguments: dict[str, Any]) -> Any:
        async with self._session() as session:
            result = await session.call_tool(tool, arguments)
        return _unwrap(result)

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[ClientSession]:
        bearer = self._bearer()
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else None
        try:
            async with (
                httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(self.timeout_s)) as http,
                streamable_http_client(self.url, http_client=http) as (read, write, _),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                yield session
        except Exception as exc:
            ours = _find(exc, BizsqlError)
            if ours is not None:
                raise ours from None
            raise self._refused_or_unreachable(exc) from exc

    def _refused_or_unreachable(self, exc: Exception) -> BizsqlError:
        status = _find(exc, httpx.HTTPStatusError)
        if status is not None and status.response.status_code == 401:
            found = _REASON.search(status.response.headers.get("www-authenticate", ""))
            reason = found.group(1) if found else "401 Unauthorized"
            fix = (
                "give it this deployment's BIZSQL_JWT_SECRET, or set BIZSQL_MCP_TOKEN"
                if self.service is not None
                else "set BIZSQL_MCP_TOKEN to a current access token"
            )
            return ServiceUnavailable(
                f"the MCP server at {self.url} refused the bearer token ({reason}); {fix}"
            )
        return QueryFailed(f"the MCP server at {self.url} is unreachable: {exc}")


def _refuse_writes_beyond(sql: str, business: BusinessConfig, identity: Identity) -> None:
    """A write the asking user may not make is refused here, whatever the fixed token's user may do."""
    why = write_refusal(business, identity)
    if why is None:
        return
    verdict, _ = judge_sql(sql, allow_writes=True)
    if verdict.allowed and verdict.kind == "write":
        raise SqlRejected(why)


def _find(exc: BaseException, kind: type[E]) -> E | None:
    """The first ``kind`` in ``exc``, even when the MCP client's task group wrapped it in a group."""
    if isinstance(exc, kind):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = _find(inner, kind)
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
