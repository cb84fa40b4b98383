"""Logging in, refreshing, logging out and bad tokens, as a client sees them over HTTP."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import jwt
import pytest

from bizsql.config import Settings
from tests.integration.api.conftest import PASSWORD, MakeUser, login, serve

pytestmark = pytest.mark.integration


async def test_login_returns_tokens_and_the_user(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/login", json={"username": "alice", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 2 * 3600
    assert body["user"] == {"username": "alice", "role": "analyst", "business_id": "acme_retail"}
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert (claims["sub"], claims["bid"], claims["role"]) == ("alice", "acme_retail", "analyst")
    assert claims["exp"] - claims["iat"] == 2 * 3600
    me = await client.get("/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json() == body["user"]


async def test_wrong_password_and_unknown_user_get_the_same_401(client: httpx.AsyncClient) -> None:
    wrong = await client.post("/auth/login", json={"username": "alice", "password": "not-her-password"})
    nobody = await client.post("/auth/login", json={"username": "mallory", "password": PASSWORD})
    for response in (wrong, nobody):
        assert response.status_code == 401
        assert response.json() == {"error": "unauthorized", "detail": "invalid username or password"}


async def test_sixth_quick_failed_login_gets_429_with_retry_after(
    default_limits: Settings, make_user: MakeUser
) -> None:
    username = await make_user()
    async with serve(default_limits) as client:
        statuses = []
        for _ in range(6):
            response = await client.post("/auth/login", json={"username": username, "password": "wrong"})
            statuses.append(response.status_code)
    assert statuses == [401] * 5 + [429]
    assert response.json()["error"] == "rate_limited"
    assert 1 <= int(response.headers["retry-after"]) <= 60


async def test_per_username_limit_holds_across_ips(default_limits: Settings, make_user: MakeUser) -> None:
    """Spreading a password guess over many addresses does not reset the per-user count."""
    username = await make_user()
    settings = default_limits.model_copy(update={"login_rate_per_minute_user": 4})
    statuses = []
    for _ in range(5):
        async with serve(settings) as client:  # a new client IP each time
            response = await client.post("/auth/login", json={"username": username, "password": "guess"})
            statuses.append(response.status_code)
    assert statuses == [401] * 4 + [429]


async def test_refresh_token_works_once_and_reuse_signs_the_user_out(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    username = await make_user()
    first = (await client.post("/auth/login", json={"username": username, "password": PASSWORD})).json()
    second = await client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    pair = second.json()
    assert pair["refresh_token"] != first["refresh_token"]
    assert (await client.get("/auth/me", headers=bearer(pair["access_token"]))).status_code == 200

    reused = await client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401
    assert "already used" in reused.json()["detail"]
    # the thief's replay revoked the whole session family, the legitimate new pair included
    assert (
        await client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    ).status_code == 401
    assert (await client.get("/auth/me", headers=bearer(pair["access_token"]))).status_code == 401


async def test_logout_revokes_refresh_and_access_tokens(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    username = await make_user()
    tokens = (await client.post("/auth/login", json={"username": username, "password": PASSWORD})).json()
    other_device = await login(client, username)
    response = await client.post("/auth/logout", headers=bearer(tokens["access_token"]))
    assert response.status_code == 200
    assert response.json() == {"sessions_revoked": 2}
    assert (await client.get("/auth/me", headers=bearer(tokens["access_token"]))).status_code == 401
    assert (await client.get("/auth/me", headers=other_device)).status_code == 401
    refreshed = await client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 401
    assert (await client.get("/auth/me", headers=await login(client, username))).status_code == 200


async def test_alg_none_token_gets_401(client: httpx.AsyncClient, headers: dict[str, dict[str, str]]) -> None:
    real = headers["alice"]["Authorization"].removeprefix("Bearer ")
    claims = jwt.decode(real, options={"verify_signature": False})
    forged_claims = {**claims, "role": "admin", "bid": "all"}
    forged = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(forged_claims)}."
    response = await client.get("/auth/me", headers=bearer(forged))
    assert response.status_code == 401
    assert response.json() == {"error": "unauthorized", "detail": "invalid token"}
    assert response.headers["www-authenticate"] == "Bearer"


async def test_token_signed_with_another_key_gets_401(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]]
) -> None:
    claims = jwt.decode(headers["bob"]["Authorization"][7:], options={"verify_signature": False})
    forged = jwt.encode({**claims, "bid": "acme_retail"}, "an-attacker-key-of-a-reasonable-length!", "HS256")
    assert (await client.get("/auth/me", headers=bearer(forged))).status_code == 401


async def test_expired_token_gets_401(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], api_settings: Settings
) -> None:
    claims = jwt.decode(headers["bob"]["Authorization"][7:], options={"verify_signature": False})
    now = int(time.time())
    expired = jwt.encode(
        {**claims, "iat": now - 7300, "exp": now - 100}, api_settings.secret_values()[0], "HS256"
    )
    response = await client.get("/auth/me", headers=bearer(expired))
    assert response.status_code == 401
    assert response.json()["detail"] == "token expired"


async def test_missing_or_malformed_authorization_gets_401(client: httpx.AsyncClient) -> None:
    for header in ({}, {"Authorization": "Bearer"}, {"Authorization": "Basic YWxpY2U6eA=="}, bearer("x.y.z")):
        response = await client.get("/auth/me", headers=header)
        assert response.status_code == 401, header
        assert response.json()["error"] == "unauthorized"


async def test_a_refresh_token_is_not_an_access_token(client: httpx.AsyncClient, make_user: MakeUser) -> None:
    username = await make_user()
    tokens = (await client.post("/auth/login", json={"username": username, "password": PASSWORD})).json()
    assert (await client.get("/auth/me", headers=bearer(tokens["refresh_token"]))).status_code == 401
    wrong_way = await client.post("/auth/refresh", json={"refresh_token": tokens["access_token"]})
    assert wrong_way.status_code == 401


async def test_login_needs_redis_and_says_so(api_settings: Settings) -> None:
    from bizsql.embedded import free_port

    down = api_settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    async with serve(down) as client:
        response = await client.post("/auth/login", json={"username": "alice", "password": PASSWORD})
    assert response.status_code == 503
    assert response.json()["error"] == "service_unavailable"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
