"""/auth: log in, refresh (single use), log out, and who am I. Thin: tokens and users do the work."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

import structlog
from fastapi import APIRouter, Request
from redis.exceptions import RedisError

from bizsql.api.dependencies import IdentityDep, ServicesDep
from bizsql.api.errors import ERROR_RESPONSES
from bizsql.api.schemas import LoginRequest, LogoutResponse, RefreshRequest, TokenResponse, UserOut
from bizsql.auth.access import USER_GONE
from bizsql.auth.login_limits import LoginLimits
from bizsql.auth.users import authenticate, find_user
from bizsql.errors import AuthFailed, ServiceUnavailable
from bizsql.metrics import AUTH_FAILURES

log = structlog.get_logger(__name__)
T = TypeVar("T")
router = APIRouter(prefix="/auth", tags=["auth"], responses=ERROR_RESPONSES)


@router.post("/login")
async def login(body: LoginRequest, request: Request, services: ServicesDep) -> TokenResponse:
    """Username and password for an access token (2 h by default) and a single-use refresh token."""
    username = body.username.strip()
    client_ip = request.client.host if request.client else "unknown"
    limits = LoginLimits(services.limiter, services.settings)
    await _limiter_required(limits.attempt(username, client_ip))
    identity = await authenticate(services.db, username, body.password.get_secret_value())
    if identity is None:
        AUTH_FAILURES.labels(endpoint="login").inc()
        log.info("login failed", username=username, ip=client_ip)
        raise AuthFailed("invalid username or password")
    await _limiter_required(limits.succeeded(username, client_ip))
    pair = await _redis_required(services.tokens.issue(identity))
    services.users.forget(identity.username)
    log.info("login", username=identity.username, ip=client_ip)
    return TokenResponse.of(pair, identity)


@router.post("/refresh")
async def refresh(body: RefreshRequest, services: ServicesDep) -> TokenResponse:
    """A refresh token for a new pair. It works once; using it again signs the user out everywhere."""
    claims = services.tokens.peek_refresh(body.refresh_token)
    identity = await find_user(services.db, claims.identity.username)
    if identity is None:
        await _redis_required(services.tokens.revoke_user(claims.identity.username))
        raise AuthFailed(USER_GONE)
    try:
        pair = await _redis_required(services.tokens.refresh(body.refresh_token, identity))
    except AuthFailed:
        AUTH_FAILURES.labels(endpoint="refresh").inc()
        raise
    return TokenResponse.of(pair, identity)


@router.post("/logout")
async def logout(identity: IdentityDep, services: ServicesDep) -> LogoutResponse:
    """Revoke every session of the caller: their refresh tokens and access tokens stop working."""
    revoked = await _redis_required(services.tokens.revoke_user(identity.username))
    log.info("logout", username=identity.username, sessions=revoked)
    return LogoutResponse(sessions_revoked=revoked)


@router.get("/me")
async def me(identity: IdentityDep) -> UserOut:
    return UserOut.of(identity)


async def _limiter_required(call: Awaitable[T]) -> T:
    try:
        return await call
    except RedisError as exc:
        raise ServiceUnavailable("login is unavailable: the rate limiter (Redis) does not answer") from exc


async def _redis_required(call: Awaitable[T]) -> T:
    try:
        return await call
    except RedisError as exc:
        raise ServiceUnavailable("the session store (Redis) does not answer; try again shortly") from exc
