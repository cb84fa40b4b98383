"""The ASGI middleware every request passes: a request id on each log line, an access log line, metrics,
security headers and the last line of defence that turns a crash into a JSON 500; then the body's size and
JSON nesting limits.

Plain ASGI (not BaseHTTPMiddleware) so streaming responses pass through untouched and cheaply.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
import uuid
from itertools import accumulate, count
from operator import sub
from typing import Any

import structlog
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bizsql.api.errors import error_response, internal_error_response
from bizsql.metrics import HTTP_LATENCY, HTTP_REQUESTS

log = structlog.get_logger("bizsql.access")

REQUEST_ID_HEADER = "x-request-id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
UNMATCHED_ROUTE = "<unmatched>"
MAX_JSON_DEPTH = 64
KEPT_IF_SET = {b"content-security-policy", b"cache-control"}
"""A route may send its own policy and caching (the chat page's files: a stricter CSP, and revalidation
instead of no-store, so a browser does not fetch the chart libraries again on each visit); every other
response gets ours."""
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)  # an unclosed one runs to the end
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_NESTING_STEPS = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")  # +1 and -1, offset by one: bytes are >= 0


def security_headers(hsts_seconds: int) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"content-security-policy", b"frame-ancestors 'none'"),
        (b"cache-control", b"no-store"),
    ]
    if hsts_seconds:
        headers.append((b"strict-transport-security", f"max-age={hsts_seconds}".encode()))
    return headers


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, extra_headers: list[tuple[bytes, bytes]]) -> None:
        self.app = app
        self.extra_headers = extra_headers
        self.replaced = {name for name, _ in extra_headers} - KEPT_IF_SET
        self.replaced |= {REQUEST_ID_HEADER.encode(), b"server-timing"}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        response_started = response_finished = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, response_started, response_finished
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                response_finished = True
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                elapsed_ms = (time.perf_counter() - started) * 1000
                headers = [h for h in message.get("headers", []) if h[0].lower() not in self.replaced]
                own = {name.lower() for name, _ in headers}
                headers.extend(h for h in self.extra_headers if h[0] not in own)
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                headers.append((b"server-timing", _server_timing(scope, elapsed_ms)))
                message["headers"] = headers
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id, user=None):
            try:
                await self.app(scope, receive, send_with_headers)
            except Exception:
                log.exception("unhandled error", method=scope["method"], path=scope["path"])
                if not response_started:
                    status = 500
                    await internal_error_response(request_id)(scope, receive, send_with_headers)
                elif not response_finished:  # a stream failed midway: end it cleanly, not as a cut connection
                    with contextlib.suppress(Exception):  # the client may be gone already
                        await send({"type": "http.response.body", "body": b"", "more_body": False})
            finally:
                self._record(scope, status, time.perf_counter() - started)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = _route_template(scope)
        method = scope["method"]
        HTTP_REQUESTS.labels(method=method, route=route, status=str(status)).inc()
        HTTP_LATENCY.labels(method=method, route=route).observe(seconds)
        state: dict[str, Any] = scope.get("state", {})
        identity = state.get("identity")
        log.info(
            "request",
            method=method,
            path=scope["path"],
            route=route,
            status=status,
            ms=round(seconds * 1000, 2),
            user=getattr(identity, "username", None),
        )


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == REQUEST_ID_HEADER.encode():
            candidate = value.decode("latin-1")
            if _VALID_REQUEST_ID.match(candidate):
                return candidate
    return uuid.uuid4().hex


def _route_template(scope: Scope) -> str:
    """The matched path template, so /conversations/{thread_id} is one metric series, not thousands."""
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    if path:
        root = scope.get("root_path", "")
        return f"{root}{path}" if root and not path.startswith(root) else str(path)
    return UNMATCHED_ROUTE


def _server_timing(scope: Scope, app_ms: float) -> bytes:
    """Total time in the app, plus the graph's share when the chat route recorded one."""
    parts = [f"app;dur={app_ms:.2f}"]
    graph_ms = scope.get("state", {}).get("graph_ms")
    if graph_ms is not None:
        parts.append(f"graph;dur={graph_ms:.2f}")
    return ", ".join(parts).encode()


class BodyTooLarge(HTTPException):
    """Raised from ``receive``: an HTTPException, so body parsing lets it through to the error handlers."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"the request body is over {max_bytes} bytes")


class BodyLimitMiddleware:
    """Refuse request bodies over ``max_bytes`` with a JSON 413 before they are read into memory.

    Starlette's own body limit answers in plain text, outside our error shape.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            detail = BodyTooLarge(self.max_bytes).detail
            await error_response(413, "payload_too_large", detail)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, counted, send)


class BodyTooDeep(HTTPException):
    """Raised from ``receive`` like BodyTooLarge, so every body parser hands it to the error handlers."""

    def __init__(self, max_depth: int) -> None:
        super().__init__(400, f"the JSON body is nested too deeply (more than {max_depth} levels)")


def json_depth(body: bytes) -> int:
    """How deep the arrays and objects in ``body`` nest, counted without parsing it (parsing is what a
    deep body crashes). Decoded as ``json.loads`` decodes bytes, brackets inside strings left out.

    Exact for valid JSON; for invalid JSON never less than what a parser reaches before its error.
    """
    try:
        text = body.decode(json.detect_encoding(body), "surrogatepass")
    except UnicodeDecodeError:
        return 0  # no JSON parser can read it either; they answer that themselves
    outside_strings = _JSON_STRING.sub("", text).encode("ascii", "ignore")  # JSON's brackets are ASCII
    steps = outside_strings.translate(_NESTING_STEPS, _NOT_BRACKETS)
    return max(map(sub, accumulate(steps), count(1)), default=0)  # C loops: ~50 ms for a 1 MiB body


class JsonDepthMiddleware:
    """Refuse a body nested deeper than ``max_depth`` with a JSON 400 once it is read, before any parser
    sees it: Python's JSON parser recurses per level, so a deep body is a RecursionError wherever it is
    parsed (a 500 from our LangServe envelope check, a vague 400 from FastAPI's body parsing)."""

    def __init__(self, app: ASGIApp, *, max_depth: int = MAX_JSON_DEPTH) -> None:
        self.app = app
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []

        async def checked() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    body = b"".join(chunks)
                    chunks.clear()
                    if json_depth(body) > self.max_depth:
                        raise BodyTooDeep(self.max_depth)
            return message

        await self.app(scope, checked, send)
