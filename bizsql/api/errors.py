"""Every failure becomes ``{"error": code, "detail": message}`` with one status, decided here alone."""

from __future__ import annotations

import json
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import psycopg
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from pymongo.errors import ConnectionFailure
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException as StarletteHTTPException

from bizsql.errors import BizsqlError, RateLimited

log = structlog.get_logger(__name__)

STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    503: "service_unavailable",
}
MAX_VALIDATION_ERRORS = 5


class ErrorBody(BaseModel):
    """The one error shape: a stable code for programs and a sentence for people."""

    error: str
    detail: str


def _doc(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _doc(
        "The body could not be read (e.g. not UTF-8, or JSON nested too deeply), "
        "or a malformed LangServe config."
    ),
    401: _doc("Missing, invalid, expired or revoked token."),
    403: _doc("The business or thread belongs to someone else, or the route is for admins."),
    404: _doc("Unknown business, thread or route."),
    413: _doc("The request body is over BIZSQL_MAX_BODY_BYTES."),
    422: _doc("The request does not match the schema."),
    429: _doc("A rate limit was reached; see Retry-After (a spent daily token budget is a 200 turn)."),
    500: _doc("Unexpected failure; the body never holds a stack trace."),
    503: _doc("A store or the LLM does not answer."),
}


APPROVAL_RESPONSES: dict[int | str, dict[str, Any]] = {
    403: _doc("Only the user who asked, or an admin of the business, may decide (either able to write)."),
    404: _doc("No such conversation."),
    409: _doc(
        "approval_expired: the approval is older than BIZSQL_APPROVAL_TTL_SECONDS (the turn is closed, "
        "nothing changed); approval_conflict: nothing waits, the id is not the pending one, or another "
        "request is deciding it."
    ),
}


def error_response(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail}, status_code=status, headers=headers)


def bizsql_error_response(exc: BizsqlError) -> JSONResponse:
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return error_response(exc.status, exc.code, exc.detail, headers or None)


def internal_error_response(request_id: str | None) -> JSONResponse:
    suffix = f" (request id {request_id})" if request_id else ""
    return error_response(500, "internal_error", f"the server failed to answer{suffix}")


def describe_validation_errors(errors: Sequence[Any], body: Any = None) -> str:
    """Where and what, never the rejected input (it may be a password). ``body`` is the text that did not
    parse, when one did not (to place the error by line and column)."""
    if errors and isinstance(errors[0], dict) and (problem := _body_problem(errors[0], body)):
        return problem
    parts = []
    for error in list(errors)[:MAX_VALIDATION_ERRORS]:
        if isinstance(error, dict):
            where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
            parts.append(f"{where}: {error.get('msg', 'invalid')}")
        else:
            parts.append(str(error))
    more = len(errors) - MAX_VALIDATION_ERRORS
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts) or "invalid request"


def json_invalid(error: ValueError) -> RequestValidationError:
    """A body that is not JSON, in the shape FastAPI gives it, for routes that parse their own body."""
    if not isinstance(error, json.JSONDecodeError):
        return RequestValidationError(
            [{"type": "json_invalid", "loc": ("body",), "ctx": {"error": "not UTF-8"}}]
        )
    where, why = ("body", error.pos), {"error": error.msg}
    return RequestValidationError(
        [{"type": "json_invalid", "loc": where, "msg": "JSON decode error", "ctx": why}], body=error.doc
    )


def _body_problem(error: dict[str, Any], body: Any) -> str | None:
    """The body as a whole is wrong (not JSON, empty, sent as another type, not an object): say so plainly
    instead of "0: JSON decode error" or "body: Input should be a valid dictionary"."""
    loc, kind = tuple(error.get("loc", ())), error.get("type")
    if kind == "json_invalid":
        reason = (error.get("ctx") or {}).get("error") or "it does not parse"
        position = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
        return f"the body must be JSON: {reason}{_position(body, position)}"
    if loc != ("body",):
        return None
    if kind == "missing":
        return "the body must be JSON: it is empty"
    if isinstance(error.get("input"), bytes | bytearray):
        return "the body must be JSON, sent with Content-Type: application/json"
    if kind in ("model_attributes_type", "model_type", "dict_type"):
        return "the body must be a JSON object"
    return None


def _position(body: Any, position: int | None) -> str:
    if position is None:
        return ""
    if not isinstance(body, str):
        return f" at character {position}"
    line = body.count("\n", 0, position) + 1
    column = position - body.rfind("\n", 0, position)
    return f" at line {line}, column {column} (character {position})"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(BizsqlError)
    async def _bizsql(request: Request, exc: BizsqlError) -> JSONResponse:
        if exc.status >= 500:
            log.warning("request failed", error=exc.code, detail=exc.detail)
        return bizsql_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail = describe_validation_errors(exc.errors(), exc.body)
        return error_response(422, "invalid_request", detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = STATUS_CODES.get(exc.status_code) or _phrase(exc.status_code)
        detail = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        return error_response(exc.status_code, code, detail, dict(exc.headers or {}) or None)

    @app.exception_handler(RedisError)
    @app.exception_handler(ConnectionFailure)
    @app.exception_handler(psycopg.OperationalError)
    async def _store_down(request: Request, exc: Exception) -> JSONResponse:
        log.warning("a store did not answer", error=type(exc).__name__, detail=str(exc)[:300])
        return error_response(
            503, "service_unavailable", f"{_store_of(exc)} does not answer; try again shortly"
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return internal_error_response(getattr(request.state, "request_id", None))


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return f"http_{status}"


def _store_of(exc: Exception) -> str:
    if isinstance(exc, RedisError):
        return "Redis"
    return "MongoDB" if isinstance(exc, ConnectionFailure) else "PostgreSQL"
