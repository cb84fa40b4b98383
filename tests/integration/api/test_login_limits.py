"""Login limits count failures per username (from one IP, and from all), and every attempt per IP only
loosely: a new user trying the demo users, typos and all, is never locked out; a guesser and a flood are."""

from __future__ import annotations

import httpx
import pytest

from bizsql.config import Settings
from tests.integration.api.conftest import PASSWORD, MakeUser, next_ip, serve

pytestmark = pytest.mark.integration


async def attempt(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/auth/login", json={"username": username, "password": password})


async def test_a_new_user_trying_the_demo_users_with_typos_is_not_limited(default_limits: Settings) -> None:
    tries = [("alice", "demo-pass-12"), ("alice", PASSWORD), ("bob", "demo-pass"), ("bob", PASSWORD),
             ("carol", PASSWORD), ("dave", PASSWORD), ("admin", PASSWORD), ("alice", PASSWORD)]  # fmt: skip
    async with serve(default_limits) as client:
        statuses = [(await attempt(client, user, password)).status_code for user, password in tries]
    assert statuses == [401, 200, 401, 200, 200, 200, 200, 200]


async def test_five_successful_logins_as_different_users_then_more_are_not_limited(
    default_limits: Settings,
) -> None:
    users = ["admin", "alice", "bob", "carol", "dave"]
    async with serve(default_limits) as client:
        statuses = [(await attempt(client, user)).status_code for user in users + users]
    assert statuses == [200] * 10


async def test_wrong_passwords_limit_that_username_but_not_the_ip(
    default_limits: Settings, make_user: MakeUser
) -> None:
    victim, other = await make_user(), await make_user()
    ip = next_ip()
    async with serve(default_limits, ip=ip) as client:
        wrong = [(await attempt(client, victim, "wrong")).status_code for _ in range(5)]
        refused = await attempt(client, victim)  # even the right password waits now
        other_user = await attempt(client, other)
    assert wrong == [401] * 5
    assert refused.status_code == 429
    assert refused.json()["error"] == "rate_limited"
    assert refused.json()["detail"].startswith(
        "too many failed logins for this user: the limit is 5 a minute"
    )
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert other_user.status_code == 200
    async with serve(default_limits) as elsewhere:  # the same user from another address
        assert (await attempt(elsewhere, victim)).status_code == 200


async def test_a_successful_login_forgets_the_failures_before_it(
    default_limits: Settings, make_user: MakeUser
) -> None:
    username = await make_user()
    async with serve(default_limits) as client:
        statuses = []
        for _ in range(3):
            statuses += [(await attempt(client, username, "typo")).status_code for _ in range(4)]
            statuses.append((await attempt(client, username)).status_code)
    assert statuses == ([401] * 4 + [200]) * 3


async def test_the_per_ip_limit_still_stops_a_flood(default_limits: Settings) -> None:
    per_ip = default_limits.login_rate_per_minute_ip
    async with serve(default_limits) as client:
        flood = [(await attempt(client, f"nobody{n}", "guess")).status_code for n in range(per_ip)]
        stopped = await attempt(client, "alice")  # a right password from the flooding address too
    assert flood == [401] * per_ip
    assert stopped.status_code == 429
    assert stopped.json()["detail"].startswith(f"too many logins: the limit is {per_ip} a minute")
    assert 1 <= int(stopped.headers["retry-after"]) <= 60
