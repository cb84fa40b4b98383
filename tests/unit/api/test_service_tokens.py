"""Service tokens (the graph's bearer to its own MCP server) and access tokens never stand in for another."""

from __future__ import annotations

import time

import jwt
import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr, ValidationError

from bizsql.auth.identity import Identity
from bizsql.auth.service_tokens import AUDIENCE, SERVICE_TTL_S, ServiceTokens
from bizsql.auth.tokens import ISSUER, TokenService
from bizsql.config import Settings
from bizsql.errors import AuthFailed
from bizsql.graph.clients import _executor
from bizsql.mcp import client as mcp_client
from bizsql.mcp.client import McpSqlRunner
from bizsql.urls import require_token_safe

SECRET = "unit-test-jwt-secret-long-enough-for-hs256!"
ALICE = Identity("alice", "analyst", "acme_retail")
BOB = Identity("bob", "analyst", "city_clinic")


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


def test_a_service_token_holds_five_minutes_and_acts_for_one_user(service: ServiceTokens) -> None:
    token, expires_at = service.issue("alice")
    claims = service.verify(token)
    assert claims.expires_at == expires_at and claims.user == "alice"
    assert SERVICE_TTL_S == 300 and abs(expires_at - time.time() - 300) < 5
    payload = jwt.decode(token, options={"verify_signature": False})
    assert payload["typ"] == "service" and payload["aud"] == AUDIENCE and payload["sub"] == "alice"
    assert payload["act"] == {"sub": "bizsql"}, "RFC 8693: the service acts for the user"
    assert not {"sid", "bid", "role"} & payload.keys()


def test_a_service_token_without_its_user_is_refused(service: ServiceTokens) -> None:
    payload = jwt.decode(service.issue("alice")[0], options={"verify_signature": False})
    for sub in (None, "", 42):
        forged = {k: v for k, v in payload.items() if k != "sub"} | ({} if sub is None else {"sub": sub})
        with pytest.raises(AuthFailed, match="invalid token"):
            service.verify(jwt.encode(forged, SECRET, algorithm="HS256"))


def test_access_and_refresh_tokens_are_not_service_tokens_and_vice_versa(
    tokens: TokenService, service: ServiceTokens
) -> None:
    minted = service.issue("alice")[0]
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
        service.verify(ServiceTokens(SECRET, ttl_s=-120).issue("alice")[0])
    with pytest.raises(AuthFailed, match="invalid token"):
        service.verify(ServiceTokens("another-deployments-secret-long-enough!!").issue("alice")[0])


def test_the_client_keeps_one_service_token_per_user_until_a_minute_before_it_expires() -> None:
    lasting = McpSqlRunner("http://127.0.0.1:9/mcp", service=ServiceTokens(SECRET))
    alices, bobs = lasting._bearer(ALICE), lasting._bearer(BOB)
    assert alices == lasting._bearer(ALICE) and bobs == lasting._bearer(BOB) and alices != bobs
    assert ServiceTokens(SECRET).verify(alices or "").user == "alice"
    assert ServiceTokens(SECRET).verify(bobs or "").user == "bob"
    short = McpSqlRunner("http://127.0.0.1:9/mcp", service=ServiceTokens(SECRET, ttl_s=60))
    assert short._bearer(ALICE) != short._bearer(ALICE)
    with pytest.raises(ValueError, match="acts for one user"):
        lasting._bearer(None)


def test_the_clients_token_cache_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mcp_client, "MAX_CACHED_TOKENS", 3)
    runner = McpSqlRunner("http://127.0.0.1:9/mcp", service=ServiceTokens(SECRET))
    first = runner._bearer(Identity("u0", "analyst", "acme_retail"))
    for n in range(1, 5):
        runner._bearer(Identity(f"u{n}", "analyst", "acme_retail"))
    assert list(runner._minted) == ["u2", "u3", "u4"]
    assert runner._bearer(Identity("u0", "analyst", "acme_retail")) != first


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5:8765/mcp",
        "http://mcp.internal/mcp",
        "http://[2001:db8::1]/mcp",
        "ftp://127.0.0.1/mcp",
    ],
)
def test_the_client_sends_no_token_in_clear_beyond_this_machine(url: str) -> None:
    for credentials in ({"token": "their-token"}, {"service": ServiceTokens(SECRET)}):
        with pytest.raises(ValueError, match=r"https://.*loopback"):
            McpSqlRunner(url, **credentials)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url",
    [
        "https://mcp.example.com/mcp",
        "http://127.0.0.1:8765/mcp",
        "http://127.1.2.3:8765/mcp",
        "http://[::1]:8765/mcp",
        "http://localhost:8765/mcp",
        "http://LOCALHOST/mcp",
    ],
)
def test_the_client_sends_tokens_over_tls_or_to_loopback(url: str) -> None:
    assert McpSqlRunner(url, service=ServiceTokens(SECRET)).url == url
    assert McpSqlRunner(url, token="their-token").url == url


def test_settings_refuse_a_cleartext_mcp_url_before_anything_starts() -> None:
    secrets = {"jwt_secret": SecretStr(SECRET), "role_secret": SecretStr("x")}
    with pytest.raises(ValidationError, match="refusing to send bearer tokens in clear"):
        Settings(**secrets, mcp_url="http://10.0.0.5:8765/mcp")
    assert Settings(**secrets, mcp_url="https://sql.example.com/mcp").mcp_url == "https://sql.example.com/mcp"


def test_the_graph_signs_service_tokens_unless_a_token_is_configured(settings: Settings) -> None:
    signed = _executor(settings, None)  # type: ignore[arg-type]  # the MCP branch needs no MongoDB
    assert isinstance(signed, McpSqlRunner) and signed.service is not None and signed.token is None
    assert ServiceTokens(SECRET).verify(signed._bearer(ALICE) or "").user == "alice"

    for blank in (None, ""):
        unset = settings.model_copy(update={"mcp_token": None if blank is None else SecretStr(blank)})
        runner = _executor(unset, None)  # type: ignore[arg-type]
        assert isinstance(runner, McpSqlRunner) and runner.service is not None

    fixed = _executor(settings.model_copy(update={"mcp_token": SecretStr("their-token")}), None)  # type: ignore[arg-type]
    assert isinstance(fixed, McpSqlRunner) and fixed.service is None and fixed._bearer() == "their-token"


@pytest.mark.parametrize(
    "url",
    ["http://localhost:abc/mcp", "http://u:pw@127.0.0.1/mcp", "http:///mcp", "ftp://127.0.0.1/mcp"],
)
def test_a_malformed_mcp_url_is_refused_before_anything_starts(url: str) -> None:
    with pytest.raises(ValueError):
        require_token_safe(url)
