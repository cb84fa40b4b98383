"""Service tokens (the graph's bearer to its own MCP server) and access tokens never stand in for another."""

from __future__ import annotations

import time

import jwt
import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr

from bizsql.auth.identity import Identity
from bizsql.auth.service_tokens import AUDIENCE, SERVICE_TTL_S, ServiceTokens
from bizsql.auth.tokens import ISSUER, TokenService
from bizsql.config import Settings
from bizsql.errors import AuthFailed
from bizsql.graph.deps import _executor
from bizsql.tools.mcp_client import McpSqlRunner

SECRET = "unit-test-jwt-secret-long-enough-for-hs256!"
ALICE = Identity("alice", "analyst", "acme_retail")


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings(
        jwt_secret=SecretStr(SECRET), role_secret=SecretStr("x"), mcp_url="http://127.0.0.1:9/mcp"
    )


@pytest.fixture(scope="module")
def tokens(settings: Settings) -> TokenService:
    return TokenService(settings, aioredis.Redis())  # verify() never touches Redis


@pytest.fixture(scope="module")
def service() -> ServiceTokens:
    return ServiceTokens(SECRET)


def test_a_service_token_holds_five_minutes_and_names_no_user(service: ServiceTokens) -> None:
    token, expires_at = service.issue()
    claims = service.verify(token)
    assert claims.expires_at == expires_at
    assert SERVICE_TTL_S == 300 and abs(expires_at - time.time() - 300) < 5
    payload = jwt.decode(token, options={"verify_signature": False})
    assert payload["typ"] == "service" and payload["aud"] == AUDIENCE
    assert not {"sid", "bid", "role"} & payload.keys()


def test_access_and_refresh_tokens_are_not_service_tokens_and_vice_versa(
    tokens: TokenService, service: ServiceTokens
) -> None:
    minted = service.issue()[0]
    for kind in ("access", "refresh"):
        with pytest.raises(AuthFailed, match="invalid token"):
            tokens.verify(minted, kind)

    now = int(time.time())
    access = {"iss": ISSUER, "sub": "alice", "bid": "acme_retail", "role": "analyst", "sid": "s1",
              "jti": "j1", "typ": "access", "iat": now, "exp": now + 600}  # fmt: skip
    for forged in (access, {**access, "aud": AUDIENCE}, {**access, "typ": "refresh"}):
        with pytest.raises(AuthFailed, match="invalid token"):
            service.verify(jwt.encode(forged, SECRET, algorithm="HS256"))
    no_audience = jwt.decode(minted, options={"verify_signature": False})
    del no_audience["aud"]
    with pytest.raises(AuthFailed, match="invalid token"):
        service.verify(jwt.encode(no_audience, SECRET, algorithm="HS256"))


def test_an_expired_or_foreign_service_token_is_refused(service: ServiceTokens) -> None:
    with pytest.raises(AuthFailed, match="token expired"):
        service.verify(ServiceTokens(SECRET, ttl_s=-120).issue()[0])
    with pytest.raises(AuthFailed, match="invalid token"):
        service.verify(ServiceTokens("another-deployments-secret-long-enough!!").issue()[0])


def test_the_client_reuses_its_service_token_until_a_minute_before_it_expires() -> None:
    lasting = McpSqlRunner("http://127.0.0.1:9/mcp", service=ServiceTokens(SECRET))
    assert lasting._bearer() == lasting._bearer()
    short = McpSqlRunner("http://127.0.0.1:9/mcp", service=ServiceTokens(SECRET, ttl_s=60))
    assert short._bearer() != short._bearer()


def test_the_graph_signs_service_tokens_unless_a_token_is_configured(settings: Settings) -> None:
    signed = _executor(settings, None)  # type: ignore[arg-type]  # the MCP branch needs no MongoDB
    assert isinstance(signed, McpSqlRunner) and signed.service is not None and signed.token is None
    ServiceTokens(SECRET).verify(signed._bearer() or "")

    for blank in (None, ""):
        unset = settings.model_copy(update={"mcp_token": None if blank is None else SecretStr(blank)})
        runner = _executor(unset, None)  # type: ignore[arg-type]
        assert isinstance(runner, McpSqlRunner) and runner.service is not None

    fixed = _executor(settings.model_copy(update={"mcp_token": SecretStr("their-token")}), None)  # type: ignore[arg-type]
    assert isinstance(fixed, McpSqlRunner) and fixed.service is None and fixed._bearer() == "their-token"
