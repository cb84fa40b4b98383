"""Who an MCP call over HTTP acts as: the bearer token's user, or the user a service token names.

A user's access token (POST /auth/login) acts as that user, checked as the REST API checks it. A service
token of the same deployment (``bizsql.auth.service_tokens``, what the graph's MCP client signs) has no
user: every tool call must name one with ``as_user``, who must exist and be active, and whose own rights
(business, writes) apply. So a service token never reaches more than the user it names; an access token
naming someone else is refused. A refused token becomes the REST API's 401 body (``explain_refusals``).
"""

from __future__ import annotations

import json
from contextvars import ContextVar
from typing import Annotated, Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken, TokenVerifier
from mcp.server.fastmcp import Context
from pydantic import Field
from pymongo.errors import PyMongoError
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bizsql.auth.access import identify_token
from bizsql.auth.identity import Identity
from bizsql.auth.service_tokens import ServiceTokens, claims_service_type
from bizsql.auth.tokens import ISSUER, TokenService
from bizsql.auth.users import UserDirectory
from bizsql.errors import AuthFailed, BizsqlError, ServiceUnavailable, TenantDenied
from bizsql.metrics import AUTH_FAILURES

AsUserArg = Annotated[
    str | None,
    Field(description="With a service token only: the user this call acts for. Otherwise omit it."),
]
NO_BEARER = "missing bearer token: send Authorization: Bearer <access token from POST /auth/login>"
NO_AS_USER = "a service token acts for a user: name them with the as_user argument"
MONGO_DOWN = "the user store (MongoDB) does not answer"

_refusals: ContextVar[list[BizsqlError] | None] = ContextVar("bizsql_mcp_refusals", default=None)


class CallerToken(AccessToken):
    """A verified access token and the user it stands for, as stored when this request arrived."""

    identity: Identity


class ServiceToken(AccessToken):
    """A verified service token: no user of its own, so each call names one (``as_user``)."""


class AccessTokenVerifier(TokenVerifier):
    """The SDK's bearer check, answered with bizsql's access tokens or this deployment's service tokens;
    a refusal says why (see ``explain_refusals``) instead of the SDK's generic "Authentication required"."""

    def __init__(
        self,
        tokens: TokenService,
        users: UserDirectory,
        *,
        service: ServiceTokens | None = None,
        redis_fail_open: bool,
    ) -> None:
        self.tokens = tokens
        self.users = users
        self.service = service
        self.redis_fail_open = redis_fail_open

    async def verify_token(self, token: str) -> AccessToken | None:
        if self.service is not None and claims_service_type(token):
            return self._verify_service(token)
        try:
            identity, claims = await identify_token(
                self.tokens, self.users, token, redis_fail_open=self.redis_fail_open, endpoint="mcp"
            )
        except PyMongoError:
            _refuse(ServiceUnavailable(MONGO_DOWN))
            return None
        except BizsqlError as exc:
            _refuse(exc)
            return None
        return CallerToken(
            token=token,
            client_id=identity.username,
            subject=identity.username,
            scopes=[],
            expires_at=claims.expires_at,
            claims={"iss": ISSUER},
            identity=identity,
        )

    def _verify_service(self, token: str) -> AccessToken | None:
        assert self.service is not None
        try:
            claims = self.service.verify(token)
        except AuthFailed as exc:
            AUTH_FAILURES.labels(endpoint="mcp").inc()
            _refuse(exc)
            return None
        return ServiceToken(
            token=token,
            client_id=claims.subject,
            subject=claims.subject,
            scopes=[],
            expires_at=claims.expires_at,
            claims={"iss": ISSUER},
        )


async def acting_user(
    ctx: Context[Any, Any, Any], as_user: str | None, fixed: Identity | None, users: UserDirectory | None
) -> Identity:
    """The user this call acts as: the named user for a service token, else the token's (or the stdio
    server's ``fixed``) user, who may name only themselves."""
    token = _token(ctx)
    if isinstance(token, ServiceToken):
        return await _named_user(users, as_user)
    caller = token.identity if isinstance(token, CallerToken) else fixed
    if caller is None:
        raise AuthFailed(NO_BEARER)
    if as_user and as_user != caller.username:
        raise TenantDenied(
            f"user {caller.username!r} may not act as {as_user!r}: only a service token names the user"
        )
    return caller


async def _named_user(users: UserDirectory | None, as_user: str | None) -> Identity:
    if not as_user:
        raise AuthFailed(NO_AS_USER)
    assert users is not None, "service tokens come only through AccessTokenVerifier, which has users"
    try:
        identity = await users.current(as_user)
    except PyMongoError as exc:
        raise ServiceUnavailable(MONGO_DOWN) from exc
    if identity is None:
        raise AuthFailed(f"user {as_user!r} does not exist or is disabled")
    return identity


def _token(ctx: Context[Any, Any, Any]) -> AccessToken | None:
    """The token verified for this very HTTP request (the SDK's ``get_access_token`` holds the one that
    opened the session), or None outside HTTP."""
    request = ctx.request_context.request
    user = request.scope.get("user") if isinstance(request, HTTPConnection) else None
    return user.access_token if isinstance(user, AuthenticatedUser) else get_access_token()


def _refuse(error: BizsqlError) -> None:
    """Tell ``explain_refusals`` (same request, same context) why the SDK is about to answer 401."""
    refusals = _refusals.get()
    if refusals is not None:
        refusals.append(error)


def explain_refusals(app: ASGIApp) -> ASGIApp:
    """The SDK's 401, rewritten as the REST API's body ``{"error", "detail"}`` with the verifier's reason
    (or 503 when a store did not answer); the WWW-Authenticate header stays for OAuth-aware clients."""

    async def explained(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        refusals: list[BizsqlError] = []
        replaced = False

        async def send_explained(message: Message) -> None:
            nonlocal replaced
            if message["type"] == "http.response.start" and message["status"] == 401:
                replaced = True
                for part in _refusal_response(refusals[-1] if refusals else AuthFailed(NO_BEARER)):
                    await send(part)
            elif not replaced:
                await send(message)

        reset = _refusals.set(refusals)
        try:
            await app(scope, receive, send_explained)
        finally:
            _refusals.reset(reset)

    return explained


def _refusal_response(error: BizsqlError) -> list[Message]:
    body = json.dumps({"error": error.code, "detail": error.detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if error.status == 401:
        challenge = f'Bearer error="invalid_token", error_description="{error.detail}"'
        headers.append((b"www-authenticate", challenge.encode()))
    return [
        {"type": "http.response.start", "status": error.status, "headers": headers},
        {"type": "http.response.body", "body": body},
    ]
