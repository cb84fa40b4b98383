"""Serve the chat page at ``/`` and its files under ``/static``, each with the page's strict CSP.

The page runs only scripts and styles from this origin (no inline script or style, no ``eval``: charts
use Vega's expression interpreter), talks only to this origin, and cannot be framed. Every value the API
returns is inserted as text by the page's scripts, and this policy is the second wall behind that.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

STATIC = Path(__file__).parent / "static"
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",  # revalidate (ETag), so a new release is picked up at once
}

_RAW_HEADERS = [(name.lower().encode(), value.encode()) for name, value in PAGE_HEADERS.items()]
_RAW_NAMES = {name for name, _ in _RAW_HEADERS}

router = APIRouter(include_in_schema=False)


@router.api_route("/", methods=["GET", "HEAD"])
async def page() -> FileResponse:
    return FileResponse(STATIC / "index.html", headers=PAGE_HEADERS)


class _PageStatic(StaticFiles):
    """StaticFiles whose files carry the page's headers (a miss is the API's JSON 404, as anywhere else)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [h for h in message.get("headers", []) if h[0].lower() not in _RAW_NAMES]
                message["headers"] = kept + _RAW_HEADERS
            await send(message)

        await super().__call__(scope, receive, send_with_headers)


def mount(app: FastAPI) -> None:
    """The page and its files; ``/static`` holds the vendored chart libraries with their licences."""
    app.include_router(router)
    app.mount("/static", _PageStatic(directory=STATIC), name="static")
