"""Service tokens: five-minute JWTs one process of a deployment shows another (the graph to its MCP server).

Each is minted for one user (as in RFC 8693 delegation: ``sub`` is the user, ``act`` the service acting for
them) and opens no session (nothing in Redis): the receiver acts as that user, with their rights as stored
now, so an intercepted token reaches no further than that user for its few minutes. Whoever can sign one
holds the JWT secret and could sign access tokens for anyone, so service tokens add no power; they only
spare the graph a login per user. ``typ`` and ``aud`` keep them apart from access and refresh tokens:
``TokenService.verify`` refuses a service token, and ``ServiceTokens.verify`` the others.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt

from bizsql.auth.tokens import ALGORITHM, ISSUER
from bizsql.errors import AuthFailed

SERVICE = "service"
AUDIENCE = "bizsql-mcp"
SERVICE_TTL_S = 300
DEFAULT_SUBJECT = "bizsql"


@dataclass(frozen=True)
class ServiceClaims:
    """What a verified service token says: which service signed it, for which user, until when."""

    subject: str
    user: str
    token_id: str
    expires_at: int


class ServiceTokens:
    """Signs and verifies service tokens with the JWT secret (``settings.secret_values()[0]``)."""

    def __init__(self, secret: str, *, ttl_s: int = SERVICE_TTL_S, subject: str = DEFAULT_SUBJECT) -> None:
        self._key = secret
        self.ttl_s = ttl_s
        self.subject = subject

    def issue(self, username: str) -> tuple[str, int]:
        """A fresh token acting for ``username`` only, and its expiry (epoch seconds)."""
        now = int(time.time())
        payload = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": username,
            "act": {"sub": self.subject},
            "typ": SERVICE,
            "jti": secrets.token_urlsafe(16),
            "iat": now,
            "exp": now + self.ttl_s,
        }
        return jwt.encode(payload, self._key, algorithm=ALGORITHM), now + self.ttl_s

    def verify(self, token: str) -> ServiceClaims:
        """Signature, algorithm, issuer, audience, expiry, type and acting user, or AuthFailed."""
        try:
            payload: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                audience=AUDIENCE,
                options={"require": ["exp", "iat", "sub", "jti", "typ", "aud", "act"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthFailed("token expired") from None
        except jwt.InvalidTokenError:
            raise AuthFailed("invalid token") from None
        user, actor = payload["sub"], payload["act"]
        if payload["typ"] != SERVICE or not isinstance(user, str) or not user or not isinstance(actor, dict):
            raise AuthFailed("invalid token")
        return ServiceClaims(
            subject=str(actor.get("sub", "")),
            user=user,
            token_id=str(payload["jti"]),
            expires_at=int(payload["exp"]),
        )


def claims_service_type(token: str) -> bool:
    """Whether the token says it is a service token; unverified, only to pick which check verifies it."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return False
    return isinstance(claims, dict) and claims.get("typ") == SERVICE
