"""Who holds an access token: the one check behind the REST API and the MCP server over HTTP.

A token counts only while its signature and expiry hold, its session is still open in Redis (logout and
``revoke_user`` end it) and its user, as stored now, is active; so disabling a user or changing their role
reaches tokens already issued (within ``UserDirectory``'s few seconds).
"""

from __future__ import annotations

from redis.exceptions import RedisError

from bizsql.auth.identity import Identity
from bizsql.auth.tokens import Claims, TokenService
from bizsql.auth.users import UserDirectory
from bizsql.errors import AuthFailed, ServiceUnavailable
from bizsql.metrics import AUTH_FAILURES, REDIS_FAIL_OPEN

USER_GONE = "this user no longer exists or is disabled"


async def identify_token(
    tokens: TokenService, users: UserDirectory, token: str | None, *, redis_fail_open: bool, endpoint: str
) -> tuple[Identity, Claims]:
    """The user of a valid access token whose session is still open, as stored now, with the token's
    claims; AuthFailed (counted under ``endpoint``) otherwise. With Redis down, ``redis_fail_open``
    decides between trusting the signature alone and ServiceUnavailable."""
    try:
        if not token:
            raise AuthFailed("missing bearer token")
        claims = tokens.verify(token, "access")
        try:
            alive = await tokens.session_alive(claims.session_id)
        except RedisError as exc:
            if not redis_fail_open:
                raise ServiceUnavailable("the session store (Redis) does not answer") from exc
            REDIS_FAIL_OPEN.labels(check="session").inc()
            alive = True
        if not alive:
            raise AuthFailed("session has ended; log in again")
        identity = await users.current(claims.identity.username)
        if identity is None:
            raise AuthFailed(USER_GONE)
    except AuthFailed:
        AUTH_FAILURES.labels(endpoint=endpoint).inc()
        raise
    return identity, claims
