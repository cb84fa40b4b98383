"""The browser session cookie that /graph/ routes accept in place of a bearer token (the playground's).

A cookie is sent by the browser on its own, so it may stand in for a token only where a person's browser
needs it (``/graph/``), only as ``SameSite=Strict`` (set in ``routes/playground.py``), and for a write only
when the request comes from this server's own origin: no other site can make a signed-in browser act.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Request

COOKIE = "bizsql_graph_session"
COOKIE_PATH = "/graph"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def cookie_token(request: Request) -> str | None:
    """The session's token, for a /graph/ request that carries one and may use it: a read, or a write
    whose Origin (or, without one, Referer) is this server's own."""
    token = request.cookies.get(COOKIE)
    if not token or not request.url.path.startswith(f"{COOKIE_PATH}/"):
        return None
    if request.method in SAFE_METHODS or same_origin(request):
        return token
    return None


def same_origin(request: Request) -> bool:
    sent = request.headers.get("origin") or request.headers.get("referer") or ""
    origin = urlsplit(sent)
    return bool(origin.netloc) and (origin.scheme, origin.netloc) == (request.url.scheme, request.url.netloc)
