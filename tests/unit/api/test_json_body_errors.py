"""A body that is not JSON gets "the body must be JSON" and where it stops parsing, never "0: JSON decode
error"; the body's text (a password, perhaps) is never echoed."""

from __future__ import annotations

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from pydantic import BaseModel

from bizsql.api.errors import install_error_handlers, json_invalid

JSON = {"content-type": "application/json"}


class Login(BaseModel):
    username: str
    password: str


def make_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/login")
    async def login(body: Login) -> Login:
        return body

    @app.post("/own-parser")
    async def own_parser(request: Request) -> None:
        """Parses its body itself, as the LangServe envelope check does."""
        import json

        try:
            json.loads(await request.body())
        except ValueError as exc:
            raise json_invalid(exc) from None

    return app


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(make_app())


def detail(client: TestClient, route: str, body: bytes, headers: dict[str, str] = JSON) -> str:
    response = client.post(route, content=body, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "invalid_request"
    return str(response.json()["detail"])


@pytest.mark.parametrize("route", ["/login", "/own-parser"])
def test_a_body_that_is_not_json_says_so_with_the_position(client: TestClient, route: str) -> None:
    said = detail(client, route, b'{"username": "alice", "password": hunter2}')
    assert said == "the body must be JSON: Expecting value at line 1, column 35 (character 34)"
    assert "hunter2" not in said


@pytest.mark.parametrize("route", ["/login", "/own-parser"])
def test_the_position_counts_lines(client: TestClient, route: str) -> None:
    said = detail(client, route, b'{\n  "username": "alice",\n  "password": "x"\n  "extra": 1\n}')
    assert said == "the body must be JSON: Expecting ',' delimiter at line 4, column 3 (character 45)"


def test_json_sent_as_another_content_type_says_which_to_send(client: TestClient) -> None:
    body = b'{"username": "alice", "password": "x"}'
    said = detail(client, "/login", body, {"content-type": "application/x-www-form-urlencoded"})
    assert said == "the body must be JSON, sent with Content-Type: application/json"


def test_an_empty_body_and_a_body_that_is_not_an_object(client: TestClient) -> None:
    assert detail(client, "/login", b"") == "the body must be JSON: it is empty"
    assert detail(client, "/login", b"[1, 2]") == "the body must be a JSON object"


def test_field_errors_still_name_the_field(client: TestClient) -> None:
    assert detail(client, "/login", b'{"username": "alice"}') == "password: Field required"
