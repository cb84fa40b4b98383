"""The executor's stand-in when ``BIZSQL_MCP_URL`` is set: the same ``run`` contract, over MCP.

One short streamable-HTTP session per call (a few milliseconds, small beside an LLM turn), so no session
outlives the event loop that opened it. Every tool call names its business, and every request carries
``Authorization: Bearer``, in one of two ways:

- a service token (the default, for a `bizsql mcp --http` of the same deployment): signed here with the
  shared JWT secret for the asking user alone, valid five minutes and reused for that user until a minute
  before it expires. The server acts as the token's user with their rights as stored now and audits their
  refusals, so nothing is refused here.
- a fixed token (``BIZSQL_MCP_TOKEN``, for a server of another deployment): the server acts as that
  token's user, so a turn for another business, or a write the asking user may not make, is refused here
  before anything is sent.

Bearer tokens go only over TLS or to a loopback host: any other ``http://`` URL is refused when the
runner is made. Tool errors carry the server's typed error as JSON and are raised again here as the same
bizsql errors. A refused bearer or a server that does not answer is a ``ServiceUnavailable`` whose detail
says only that (the service's configuration, not the asking user, is at fault, and no LLM retry helps);
the URL and the cause go to the log, not to the user. Approved writes (a dry run, then the write) are
refused over MCP (``NO_APPROVALS``).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx
import structlog
from cachetools import TLRUCache
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
from bizsql.sql.executor import write_refusal
from bizsql.sql.guard import judge_sql
from bizsql.sql.result import ExplainResult, QueryResult
from bizsql.stores.business import BusinessConfig
from bizsql.urls import require_token_safe

log = structlog.get_logger(__name__)

NO_APPROVALS = (
    "this deployment runs SQL over MCP, which has no dry run, so a generated write cannot wait for an "
    "approval and was not run; run it yourself with `bizsql sql run`, or let the business skip approvals "
    "(writes_need_approval: false)"
)
"""Why a generated write needing approval is refused over MCP: an MCP tool that takes an approver's name
would let any token holder claim one, and the server's audit could not tell who really said yes."""

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
MAX_CACHED_TOKENS = 1024


def _renew_at(_username: str, minted: tuple[str, int], _now: float) -> float:
    """A cached service token is used until a minute before it expires."""
    return minted[1] - RENEW_BEFORE_S


UNREACHABLE = "the SQL service does not answer"
REFUSED = "the SQL service refused this server's credentials"
_REASON = re.compile(r'error_description="([^"]*)"')


class McpSqlRunner:
    """Runs SQL on a `bizsql mcp --http` server; raises the same typed errors as ``SqlExecutor``.

    ``service`` signs a service token per asking user; ``token`` is a fixed bearer instead (an access
    token of the server's deployment). With neither, requests carry no bearer. A bearer for a plain
    ``http://`` URL whose host is not loopback is a ValueError: it would cross the network in clear.
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
        if service is not None or token:
            require_token_safe(url)
        self.url = url
        self.token = token
        self.service = service
        self.timeout_s = timeout_s
        self._minted: TLRUCache[str, tuple[str, int]] = TLRUCache(
            MAX_CACHED_TOKENS, ttu=_renew_at, timer=time.time
        )

    async def run(self, sql: str, *, business: BusinessConfig, identity: Identity) -> QueryResult:
        """As ``identity``: the user of the service token, else enforced here, since a fixed token's user
        may reach more (an admin's token)."""
        if self.service is None:
            if not identity.may_access(business.business_id):
                raise TenantDenied(f"{identity.username} may not query {business.business_id}")
            _refuse_writes_beyond(sql, business, identity)
        result = await self._call("run_sql", {"sql": sql, "business": business.business_id}, identity)
        return QueryResult.model_validate(result)

    async def dry_run(self, sql: str, *, business: BusinessConfig, identity: Identity) -> QueryResult:
        """Refused: see ``NO_APPROVALS``."""
        raise SqlRejected(NO_APPROVALS)

    async def run_approved(self, sql: str, **_: Any) -> QueryResult:
        raise SqlRejected(NO_APPROVALS)

    async def record_decision(self, sql: str, **_: Any) -> None:
        raise SqlRejected(NO_APPROVALS)

    async def explain(
        self, sql: str, *, business: BusinessConfig, identity: Identity | None = None
    ) -> ExplainResult:
        """The plan of a read; with service tokens, ``identity`` is the user the token is minted for."""
        result = await self._call("explain_sql", {"sql": sql, "business": business.business_id}, identity)
        return ExplainResult.model_validate(result)

    async def explain_cost(
        self, sql: str, *, business: BusinessConfig, identity: Identity | None = None
    ) -> float:
        return (await self.explain(sql, business=business, identity=identity)).estimated_cost

    async def list_tools(self, identity: Identity | None = None) -> list[str]:
        async with self._session(identity) as session:
            return [tool.name for tool in (await session.list_tools()).tools]

    async def close(self) -> None:
        """Nothing stays open between calls."""

    def _bearer(self, identity: Identity | None = None) -> str | None:
        """The fixed token, or the user's service token, reused until a minute before it expires. The
        cache holds at most ``MAX_CACHED_TOKENS`` users: the expired go first, then the least used."""
        if self.service is None:
            return self.token
        if identity is None:
            raise ValueError("a service token acts for one user: pass the asking user's identity")
        minted = self._minted.get(identity.username)
        if minted is None:
            minted = self._minted[identity.username] = self.service.issue(identity.username)
        return minted[0]

    async def _call(self, tool: str, arguments: dict[str, Any], identity: Identity | None) -> Any:
        async with self._session(identity) as session:
            result = await session.call_tool(tool, arguments)
        return _unwrap(result)

    @asynccontextmanager
    async def _session(self, identity: Identity | None = None) -> AsyncIterator[ClientSession]:
        bearer = self._bearer(identity)
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
        """The operator's details (URL, reason, fix) go to the log; the user learns only that the SQL
        service is out of reach, which no retry of theirs (or the LLM's) mends."""
        status = _find(exc, httpx.HTTPStatusError)
        if status is not None and status.response.status_code == 401:
            found = _REASON.search(status.response.headers.get("www-authenticate", ""))
            fix = (
                "give it this deployment's BIZSQL_JWT_SECRET, or set BIZSQL_MCP_TOKEN"
                if self.service is not None
                else "set BIZSQL_MCP_TOKEN to a current access token"
            )
            reason = found.group(1) if found else "401 Unauthorized"
            log.error("mcp_bearer_refused", url=self.url, reason=reason, fix=fix)
            return ServiceUnavailable(REFUSED)
        log.error("mcp_unreachable", url=self.url, error=_describe(exc))
        return ServiceUnavailable(UNREACHABLE)


def _describe(exc: BaseException) -> str:
    """The causes inside an exception group, for the log (the group's own text is "1 sub-exception")."""
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_describe(inner) for inner in exc.exceptions)
    return f"{type(exc).__name__}: {exc}"


def _refuse_writes_beyond(sql: str, business: BusinessConfig, identity: Identity) -> None:
    """A write the asking user may not make is refused here, whatever the fixed token's user may do."""
    why = write_refusal(business, identity)
    if why is None:
        return
    verdict = judge_sql(sql, allow_writes=True).verdict
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
