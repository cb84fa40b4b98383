"""JWTs: short stateless access tokens, and single-use refresh tokens whose ids live in Redis.

Each login opens a session (``sid``) that both tokens carry. Refreshing spends the refresh token's id and
issues the next one in the same session, atomically in one Lua script. Presenting a spent refresh token
means it leaked, so every session of that user is revoked; revoked sessions also stop their access tokens.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any, Literal

import jwt
import redis.asyncio as aioredis
import structlog

from bizsql.auth.identity import Identity
from bizsql.config import Settings
from bizsql.errors import AuthFailed

log = structlog.get_logger(__name__)

ALGORITHM = "HS256"
ISSUER = "bizsql"
PREFIX = "bizsql:auth"
TokenType = Literal["access", "refresh"]

# KEYS: old refresh id, new refresh id, session, user's session set. ARGV: sid, ttl.
# Returns 1 when rotated, 0 when the old id was already spent (reuse), -1 when the session is gone.
_ROTATE = """
local sid = redis.call('GETDEL', KEYS[1])
if not sid then return 0 end
if sid ~= ARGV[1] or redis.call('EXISTS', KEYS[3]) == 0 then return -1 end
redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2])
redis.call('EXPIRE', KEYS[3], ARGV[2])
redis.call('EXPIRE', KEYS[4], ARGV[2])
return 1
"""

# KEYS: user's session set. ARGV: session key prefix. Deletes every session of the user.
_REVOKE_ALL = """
local sids = redis.call('SMEMBERS', KEYS[1])
for _, sid in ipairs(sids) do redis.call('DEL', ARGV[1] .. sid) end
redis.call('DEL', KEYS[1])
return #sids
"""


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


@dataclass(frozen=True)
class Claims:
    """What a verified token says: who, in which session, and (refresh only) which spendable id."""

    identity: Identity
    session_id: str
    token_id: str
    expires_at: int


class TokenService:
    """Issues, verifies, rotates and revokes tokens; Redis holds only ids, never the tokens."""

    def __init__(self, settings: Settings, redis: aioredis.Redis) -> None:
        self._key = settings.secret_values()[0]
        self._access_ttl = settings.access_token_minutes * 60
        self._refresh_ttl = settings.refresh_token_days * 86400
        self._redis = redis
        self._rotate = redis.register_script(_ROTATE)
        self._revoke_all = redis.register_script(_REVOKE_ALL)

    @property
    def access_ttl(self) -> int:
        return self._access_ttl

    async def issue(self, identity: Identity) -> TokenPair:
        """A login: open a new session and return its first pair."""
        session_id, refresh_id = _new_id(), _new_id()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(_session_key(session_id), identity.username, ex=self._refresh_ttl)
            pipe.sadd(_user_key(identity.username), session_id)
            pipe.expire(_user_key(identity.username), self._refresh_ttl)
            pipe.set(_refresh_key(refresh_id), session_id, ex=self._refresh_ttl)
            await pipe.execute()
        return self._pair(identity, session_id, refresh_id)

    def peek_refresh(self, refresh_token: str) -> Claims:
        """The claims of a refresh token, verified but not spent (to look the user up first)."""
        return self.verify(refresh_token, "refresh")

    async def refresh(self, refresh_token: str, identity: Identity | None = None) -> TokenPair:
        """Spend the refresh token once and return the next pair in the same session.

        ``identity`` is the user as stored now (role or business may have changed since login).
        """
        claims = self.verify(refresh_token, "refresh")
        who = identity or claims.identity
        next_id = _new_id()
        outcome = await self._rotate(
            keys=[
                _refresh_key(claims.token_id),
                _refresh_key(next_id),
                _session_key(claims.session_id),
                _user_key(who.username),
            ],
            args=[claims.session_id, self._refresh_ttl],
        )
        if outcome == 0:
            revoked = await self.revoke_user(claims.identity.username)
            log.warning("refresh token reused: sessions revoked", user=who.username, sessions=revoked)
            raise AuthFailed("refresh token already used; all sessions of this user were signed out")
        if outcome != 1:
            raise AuthFailed("session has ended; log in again")
        return self._pair(who, claims.session_id, next_id)

    async def revoke_user(self, username: str) -> int:
        """End every session of the user: their refresh tokens and access tokens stop working."""
        return int(await self._revoke_all(keys=[_user_key(username)], args=[f"{PREFIX}:session:"]))

    async def session_alive(self, session_id: str) -> bool:
        return bool(await self._redis.exists(_session_key(session_id)))

    def verify(self, token: str, kind: TokenType) -> Claims:
        """Signature, algorithm, issuer, expiry and type, or AuthFailed; no Redis involved. A token with an
        audience is meant for someone else (a service token's is the MCP server), so it is refused here
        by our own check, not by the JWT library's default."""
        try:
            payload: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={
                    "require": ["exp", "iat", "sub", "sid", "jti", "typ", "bid", "role"],
                    "verify_aud": False,
                },
            )
        except jwt.ExpiredSignatureError:
            raise AuthFailed("token expired") from None
        except jwt.InvalidTokenError:
            raise AuthFailed("invalid token") from None
        if (
            "aud" in payload
            or payload["typ"] != kind
            or payload["role"] not in ("admin", "editor", "analyst")
        ):
            raise AuthFailed("invalid token")
        return Claims(
            identity=Identity(username=payload["sub"], role=payload["role"], business_id=payload["bid"]),
            session_id=str(payload["sid"]),
            token_id=str(payload["jti"]),
            expires_at=int(payload["exp"]),
        )

    def _pair(self, identity: Identity, session_id: str, refresh_id: str) -> TokenPair:
        return TokenPair(
            access_token=self._encode(identity, session_id, "access", _new_id(), self._access_ttl),
            refresh_token=self._encode(identity, session_id, "refresh", refresh_id, self._refresh_ttl),
            expires_in=self._access_ttl,
        )

    def _encode(self, identity: Identity, sid: str, kind: TokenType, token_id: str, ttl: int) -> str:
        now = int(time.time())
        payload = {
            "iss": ISSUER,
            "sub": identity.username,
            "bid": identity.business_id,
            "role": identity.role,
            "sid": sid,
            "jti": token_id,
            "typ": kind,
            "iat": now,
            "exp": now + ttl,
        }
        return jwt.encode(payload, self._key, algorithm=ALGORITHM)


def _new_id() -> str:
    return secrets.token_urlsafe(16)


def _session_key(sid: str) -> str:
    return f"{PREFIX}:session:{sid}"


def _refresh_key(token_id: str) -> str:
    return f"{PREFIX}:refresh:{token_id}"


def _user_key(username: str) -> str:
    return f"{PREFIX}:user-sessions:{username}"
