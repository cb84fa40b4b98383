"""On every route that reads a JSON body, one that is not JSON is a 422 that says so and where."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.api.conftest import MakeUser, login
from tests.integration.api.test_bodies import json_routes

pytestmark = pytest.mark.integration

NOT_JSON = '{"message": "hi",\n "password": nope}'
EXPECTED = {
    "error": "invalid_request",
    "detail": "the body must be JSON: Expecting value at line 2, column 14 (character 31)",
}


async def test_a_body_that_is_not_json_is_named_as_such_on_every_json_route(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    admin = await login(client, await make_user(role="admin", business_id="all"))
    wrong = []
    for route in await json_routes(client):
        response = await client.post(
            route, content=NOT_JSON, headers={**admin, "Content-Type": "application/json"}
        )
        if response.status_code != 422 or response.json() != EXPECTED:
            wrong.append((route, response.status_code, response.text[:160]))
    assert wrong == []
