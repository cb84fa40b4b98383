"""A browser session for LangServe's playground (/graph/playground/), which cannot send a bearer token.

A person signs in on a small form here and gets the access token of a normal login in a cookie
(``HttpOnly``, ``SameSite=Strict``, ``Secure`` unless the page came over plain HTTP to a loopback host)
that only ``/graph/`` routes read, and that expires with the token. Cross-site requests never carry a
SameSite=Strict cookie, and a cookie-authenticated POST must also come from this origin
(``session_cookie.cookie_token``), so the cookie gives no other site a way in. The same rate limits and
checks apply as on POST /auth/login, and signing out revokes the session as /auth/logout does.
"""

from __future__ import annotations

import html
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import SecretStr, ValidationError

from bizsql.api.dependencies import ServicesDep, identify
from bizsql.api.routes.auth import login
from bizsql.api.schemas import LoginRequest
from bizsql.api.session_cookie import COOKIE, COOKIE_PATH, cookie_token
from bizsql.errors import AuthFailed, RateLimited

LOGIN_PATH = "/graph/playground-login"
PLAYGROUND_PATH = "/graph/playground/"

router = APIRouter(include_in_schema=False)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>bizsql playground: sign in</title>
<style>body{{font:16px system-ui,sans-serif;max-width:22rem;margin:4rem auto;padding:0 1rem}}
label,input,button{{display:block;width:100%;margin:.3rem 0}}input,button{{padding:.5rem;font:inherit}}
.error{{color:#a00}}</style></head>
<body><h1>bizsql playground</h1>
<p>Sign in with your bizsql account to try the graph in LangServe's playground.</p>
{error}
<form method="post" action="{action}">
<label for="username">Username</label><input id="username" name="username" autocomplete="username" required>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form></body></html>
"""


async def sign_in_first(request: Request) -> None:
    """The playground's page without a token or a session goes to the sign-in form, not to a 401."""
    if (
        request.url.path.startswith(PLAYGROUND_PATH)
        and "authorization" not in request.headers
        and cookie_token(request) is None
    ):
        raise HTTPException(303, "sign in first", headers={"Location": LOGIN_PATH})


@router.get(LOGIN_PATH, response_class=HTMLResponse)
async def login_page() -> HTMLResponse:
    return HTMLResponse(_PAGE.format(error="", action=LOGIN_PATH))


@router.post(LOGIN_PATH, response_class=HTMLResponse)
async def login_form(
    request: Request,
    services: ServicesDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    """A normal login (same limits, same checks); its access token goes into the session cookie."""
    try:
        answer = await login(LoginRequest(username=username, password=SecretStr(password)), request, services)
    except ValidationError:
        return _page_with("Enter a username and a password.", 422)
    except AuthFailed:
        return _page_with("That username and password do not match an account.", 401)
    except RateLimited as exc:
        return _page_with(f"Too many sign-in attempts: {exc.detail}", 429)
    page = RedirectResponse(PLAYGROUND_PATH, status_code=303)
    page.set_cookie(
        COOKIE, answer.access_token, max_age=answer.expires_in, path=COOKIE_PATH, httponly=True,
        samesite="strict", secure=not _plain_http_on_loopback(request),
    )  # fmt: skip
    return page


@router.post("/graph/playground-logout")
async def logout_form(request: Request, services: ServicesDep) -> Response:
    """Sign out: the session is revoked (its token stops working everywhere) and the cookie removed."""
    token = cookie_token(request)
    if token:
        identity = await identify(services, token)
        await services.tokens.revoke_user(identity.username)
    page = RedirectResponse(LOGIN_PATH, status_code=303)
    page.delete_cookie(COOKIE, path=COOKIE_PATH)
    return page


def _page_with(message: str, status: int) -> HTMLResponse:
    error = f'<p class="error" role="alert">{html.escape(message)}</p>'
    return HTMLResponse(_PAGE.format(error=error, action=LOGIN_PATH), status_code=status)


def _plain_http_on_loopback(request: Request) -> bool:
    """A Secure cookie is never sent over plain HTTP, so local development on 127.0.0.1 needs it off."""
    host = request.url.hostname or ""
    return request.url.scheme == "http" and host in {"127.0.0.1", "localhost", "::1"}
