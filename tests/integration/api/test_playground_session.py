"""LangServe's playground gets a browser session: a sign-in form, a SameSite=Strict cookie that only /graph/
routes read, refused for writes from another origin, and revoked on sign-out."""

from __future__ import annotations

import httpx
import pytest

from bizsql.api.session_cookie import COOKIE
from tests.integration.api.conftest import PASSWORD

pytestmark = pytest.mark.integration

TURN = {"input": {"messages": [{"type": "human", "content": "Top 5 customers by revenue in 2025?"}]}}
ORIGIN = "http://bizsql.test"


async def _sign_in(client: httpx.AsyncClient, username: str) -> str:
    response = await client.post(
        "/graph/playground-login", data={"username": username, "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/graph/playground/"
    client.cookies.clear()
    return response.cookies[COOKIE]


async def test_the_playground_without_a_session_sends_the_browser_to_sign_in(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/graph/playground/", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/graph/playground-login")
    form = await client.get("/graph/playground-login")
    assert form.status_code == 200 and 'name="password"' in form.text


async def test_the_session_cookie_is_httponly_strict_and_scoped_to_graph(
    client: httpx.AsyncClient, make_user: object
) -> None:
    username = await make_user()  # type: ignore[operator]
    response = await client.post(
        "/graph/playground-login", data={"username": username, "password": PASSWORD}, follow_redirects=False
    )
    client.cookies.clear()
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/graph" in cookie
    assert "max-age=7200" in cookie  # it lives as long as the access token inside it


async def test_a_wrong_password_shows_the_form_again_with_a_reason(client: httpx.AsyncClient) -> None:
    wrong = {"username": "alice", "password": "nope-123"}
    response = await client.post("/graph/playground-login", data=wrong)
    assert response.status_code == 401
    assert "do not match" in response.text and COOKIE not in response.headers.get("set-cookie", "")


async def test_the_cookie_runs_the_playground_from_its_own_origin_only(
    client: httpx.AsyncClient, make_user: object
) -> None:
    token = await _sign_in(client, await make_user())  # type: ignore[operator]
    jar = {COOKIE: token}
    assert (await client.get("/graph/input_schema", cookies=jar)).status_code == 200
    page = await client.get("/graph/playground/", cookies=jar, follow_redirects=False)
    assert page.status_code == 200 and 'id="root"' in page.text
    ran = await client.post("/graph/invoke", json=TURN, cookies=jar, headers={"Origin": ORIGIN})
    assert ran.status_code == 200, ran.text
    assert ran.json()["output"]["result"]["row_count"] == 5
    for origin in ({}, {"Origin": "http://evil.example"}, {"Referer": "http://evil.example/page"}):
        refused = await client.post("/graph/invoke", json=TURN, cookies=jar, headers=origin)
        assert refused.status_code == 401, (origin, refused.text)
    elsewhere = await client.post("/chat", json={"message": "hi"}, cookies=jar, headers={"Origin": ORIGIN})
    assert elsewhere.status_code == 401, "the cookie is for /graph/ alone"


async def test_signing_out_revokes_the_session(client: httpx.AsyncClient, make_user: object) -> None:
    token = await _sign_in(client, await make_user())  # type: ignore[operator]
    jar = {COOKIE: token}
    out = await client.post(
        "/graph/playground-logout", cookies=jar, headers={"Origin": ORIGIN}, follow_redirects=False
    )
    assert out.status_code == 303 and "max-age=0" in out.headers["set-cookie"].lower()
    client.cookies.clear()
    assert (await client.get("/graph/input_schema", cookies=jar)).status_code == 401
    api = await client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 401, "signing out revoked the session itself, not only the cookie"


async def test_the_config_schema_has_no_null_type_for_the_playground_form(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]]
) -> None:
    """The playground's form fails on {"type": "null"} ("Unknown type"), which `str | None` produced."""
    response = await client.get("/graph/config_schema", headers=headers["alice"])
    assert response.status_code == 200
    assert '"null"' not in response.text
