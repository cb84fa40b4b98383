"""Who an MCP call over HTTP acts as: the user of the bearer token of that very request.

A user's access token (POST /auth/login) acts as that user, checked as the REST API checks it. A service
token of the same deployment (``bizsql.auth.service_tokens``, what the graph's MCP client signs) is minted
for one user (its ``sub``), who must still exist and be active, and whose rights as stored now (business,
writes) apply. No call names its user: it is the token's, so a token never reaches more than its user. A
refused token becomes the REST API's 401 body (``explain_refusals``).
"""

from __future__ import annotations

import json
from contextvars import ContextVar
from typing import Any

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken, TokenVerifier
from mcp.server.fastmcp import Context
from pymongo.errors import PyMongoError
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bizsql.auth.access import identify_token
from bizsql.auth.identity import Identity
from bizsql.auth.service_tokens import ServiceTokens, claims_service_type
from bizsql.auth.tokens import ISSUER, TokenService
from bizsql.auth.users import UserDirectory
from bizsql.errors import AuthFailed, BizsqlError, ServiceUnavailable
from bizsql.metrics import AUTH_FAILURES

NO_BEARER = "missing bearer token: send Authorization: Bearer <access token from POST /auth/login>"
MONGO_DOWN = "the user store (MongoDB) does not answer"

_refusals: ContextVar[list[BizsqlError] | None] = ContextVar("bizsql_mcp_refusals", default=None)


class CallerToken(AccessToken):
    """A verified access token and the user it stands for, as stored when this request arrived."""

    identity: Identity


class ServiceToken(AccessToken):
    """A verified service token and the user it was minted for, read afresh at each call."""

    acting: str


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
            acting=claims.user,
        )


async def acting_user(
    ctx: Context[Any, Any, Any], fixed: Identity | None, users: UserDirectory | None
) -> Identity:
    """The user this call acts as: the request's token's user (a service token's read afresh), or the
    stdio server's ``fixed`` user."""
    token = _token(ctx)
    if isinstance(token, ServiceToken):
        return await _token_user(users, token.acting)
    caller = token.identity if isinstance(token, CallerToken) else fixed
    if caller is None:
        raise AuthFailed(NO_BEARER)
    return caller


async def _token_user(users: UserDirectory | None, username: str) -> Identity:
    assert users is not None, "service tokens come only through AccessTokenVerifier, which has users"
    try:
        identity = await users.current(username)
    except PyMongoError as exc:
        raise ServiceUnavailable(MONGO_DOWN) from exc
    if identity is None:
        raise AuthFailed(f"user {username!r} does not exist or is disabled")
    return identity


def _token(ctx: Context[Any, Any, Any]) -> AccessToken | None:
    """The token verified for this very HTTP request, or None outside HTTP (stdio, in-process). Over
    HTTP a request without one is refused, never answered with the token that opened the session."""
    request = ctx.request_context.request
    if not isinstance(request, HTTPConnection):
        return None
    user = request.scope.get("user")
    if not isinstance(user, AuthenticatedUser):
        raise AuthFailed(NO_BEARER)
    return user.access_token


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
