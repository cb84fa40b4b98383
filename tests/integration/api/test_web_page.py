"""The chat page is served by the API's own app, with its strict policy on every file it serves."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.integration


async def test_the_page_is_served_at_the_root_with_a_strict_policy(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<form id="login-form"' in response.text
    policy = response.headers["content-security-policy"]
    assert policy.startswith("default-src 'none'; script-src 'self'; style-src 'self'")
    assert "frame-ancestors 'none'" in policy and "unsafe" not in policy


async def test_its_files_carry_the_same_policy_and_nothing_outside_static_is_served(
    client: httpx.AsyncClient,
) -> None:
    script = await client.get("/static/js/app.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert "script-src 'self'" in script.headers["content-security-policy"]
    missing = await client.get("/static/nope.js")
    assert (missing.status_code, missing.json()["error"]) == (404, "not_found")  # the API's error shape
    for escape in ("/static/../server.py", "/static/%2e%2e/server.py", "/static/..%2fserver.py"):
        assert (await client.get(escape)).status_code == 404, escape  # never a file outside static/


async def test_the_api_keeps_its_own_policy(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.headers["content-security-policy"] == "frame-ancestors 'none'"


async def test_a_browser_revalidates_the_files_instead_of_fetching_them_again(
    client: httpx.AsyncClient,
) -> None:
    first = await client.get("/static/vendor/vega.min.js")
    assert first.headers["cache-control"] == "no-cache" and first.headers["etag"]
    again = await client.get("/static/vendor/vega.min.js", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert (await client.get("/healthz")).headers["cache-control"] == "no-store"  # the API's answers: never
