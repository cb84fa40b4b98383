"""GET /businesses: an admin sees every business, anyone else their own; nothing secret is in it."""

from __future__ import annotations

import httpx
import pytest

from bizsql.demo import DEMO_BUSINESSES, get_demo_business

pytestmark = pytest.mark.integration

FIELDS = {"business_id", "name", "description", "allow_writes", "can_write", "verified_questions"}


async def test_an_admin_sees_every_business(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]]
) -> None:
    response = await client.get("/businesses", headers=headers["admin"])
    assert response.status_code == 200, response.text
    listed = response.json()["businesses"]
    assert [b["business_id"] for b in listed] == sorted(b.business_id for b in DEMO_BUSINESSES)
    for business in listed:
        assert set(business) == FIELDS
        demo = get_demo_business(business["business_id"])
        assert business["name"] == demo.name
        assert business["verified_questions"] == [q.question for q in demo.verified_queries]
        assert business["can_write"] == business["allow_writes"] == demo.allow_writes


async def test_an_analyst_sees_only_their_own_business(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]]
) -> None:
    response = await client.get("/businesses", headers=headers["alice"])
    assert response.status_code == 200, response.text
    [acme] = response.json()["businesses"]
    assert acme["business_id"] == "acme_retail"
    assert acme["allow_writes"] is True and acme["can_write"] is False  # writes are for editors
    assert "Top 5 customers by revenue in 2025?" in acme["verified_questions"]
    text = response.text.lower()
    for secret in ("select ", "password", "postgresql://", "_reader", "_writer"):
        assert secret not in text


async def test_an_editor_may_write_where_the_business_allows_it(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]]
) -> None:
    [acme] = (await client.get("/businesses", headers=headers["dave"])).json()["businesses"]
    assert (acme["business_id"], acme["can_write"]) == ("acme_retail", True)


async def test_listing_businesses_needs_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/businesses")
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
