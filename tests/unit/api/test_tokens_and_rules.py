"""Token checks that need no server, and the one business-isolation rule, as a table."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime

import jwt
import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr

from bizsql.api.dependencies import authorize_business
from bizsql.auth.budget import seconds_to_midnight
from bizsql.auth.identity import Identity
from bizsql.auth.tokens import ISSUER, TokenService
from bizsql.config import Settings
from bizsql.errors import AuthFailed, TenantDenied

SECRET = "unit-test-jwt-secret-long-enough-for-hs256!"
ALICE = Identity("alice", "analyst", "acme_retail")
ADMIN = Identity("admin", "admin", "all")


@pytest.fixture(scope="module")
def tokens() -> TokenService:
    settings = Settings(jwt_secret=SecretStr(SECRET), role_secret=SecretStr("x"), access_token_minutes=120)
    return TokenService(settings, aioredis.Redis())  # verify() never touches Redis


def claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    base: dict[str, object] = {
        "iss": ISSUER, "sub": "alice", "bid": "acme_retail", "role": "analyst", "sid": "s1", "jti": "j1",
        "typ": "access", "iat": now, "exp": now + 600,
    }  # fmt: skip
    return {**base, **overrides}


def test_a_well_formed_token_names_its_user_business_and_role(tokens: TokenService) -> None:
    token = jwt.encode(claims(), SECRET, algorithm="HS256")
    assert tokens.verify(token, "access").identity == ALICE


def test_alg_none_is_refused(tokens: TokenService) -> None:
    def b64(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    forged = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims(role='admin', bid='all'))}."
    with pytest.raises(AuthFailed, match="invalid token"):
        tokens.verify(forged, "access")


def test_another_key_is_refused(tokens: TokenService) -> None:
    token = jwt.encode(claims(), "some-other-key-that-is-also-long-enough!!", algorithm="HS256")
    with pytest.raises(AuthFailed, match="invalid token"):
        tokens.verify(token, "access")


def test_expired_token_is_refused_with_a_clear_reason(tokens: TokenService) -> None:
    token = jwt.encode(
        claims(iat=int(time.time()) - 7300, exp=int(time.time()) - 100), SECRET, algorithm="HS256"
    )
    with pytest.raises(AuthFailed, match="expired"):
        tokens.verify(token, "access")


def test_refresh_token_is_not_an_access_token(tokens: TokenService) -> None:
    token = jwt.encode(claims(typ="refresh"), SECRET, algorithm="HS256")
    with pytest.raises(AuthFailed):
        tokens.verify(token, "access")


@pytest.mark.parametrize("audience", ["bizsql-mcp", "bizsql", ["bizsql"], "", []])
def test_a_token_with_any_audience_is_refused(tokens: TokenService, audience: object) -> None:
    """An audience says the token is for someone else (a service token's is the MCP server); even an
    empty one, which the JWT library alone would let through, is refused."""
    for kind in ("access", "refresh"):
        token = jwt.encode(claims(typ=kind, aud=audience), SECRET, algorithm="HS256")
        with pytest.raises(AuthFailed, match="invalid token"):
            tokens.verify(token, kind)  # type: ignore[arg-type]


def test_token_without_business_or_with_unknown_role_is_refused(tokens: TokenService) -> None:
    no_business = {k: v for k, v in claims().items() if k != "bid"}
    for payload in (no_business, claims(role="root")):
        with pytest.raises(AuthFailed):
            tokens.verify(jwt.encode(payload, SECRET, algorithm="HS256"), "access")


@pytest.mark.parametrize(
    ("identity", "requested", "expected"),
    [
        (ALICE, None, "acme_retail"),
        (ALICE, "acme_retail", "acme_retail"),
        (ADMIN, None, None),
        (ADMIN, "city_clinic", "city_clinic"),
        (ADMIN, "swift_logistics", "swift_logistics"),
    ],
)
def test_business_comes_from_the_token_unless_an_admin_names_one(
    identity: Identity, requested: str | None, expected: str | None
) -> None:
    assert authorize_business(identity, requested) == expected


@pytest.mark.parametrize("requested", ["city_clinic", "all", "ACME_RETAIL"])
def test_a_non_admin_naming_another_business_is_denied(requested: str) -> None:
    with pytest.raises(TenantDenied):
        authorize_business(ALICE, requested)


def test_a_business_admin_is_not_a_global_admin() -> None:
    with pytest.raises(TenantDenied):
        authorize_business(Identity("boss", "admin", "acme_retail"), "city_clinic")


def test_budget_retry_after_points_at_next_utc_midnight() -> None:
    assert seconds_to_midnight(datetime(2026, 1, 1, 23, 59, 30, tzinfo=UTC)) == 30
    assert seconds_to_midnight(datetime(2026, 1, 1, 0, 0, 0, tzinfo=UTC)) == 86400
