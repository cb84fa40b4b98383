"""LangServe routes for the turn graph under /graph, behind the same JWT and the same isolation as /chat.

The graph reads who is asking from ``configurable``; ``identity_config`` OVERWRITES those keys with the
token's user after the same checks /chat makes, so a client can never name somebody else (STACK-NOTES).
LangServe trusts its input more than a public API may (a non-UTF-8 body or ``"config": null`` is a 500
there), so ``well_formed_body`` checks the envelope first and ``ServedGraph`` narrows the input to one
new user message.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from langchain_core.runnables import RunnableBinding, RunnableConfig
from langchain_core.runnables.utils import ConfigurableFieldSpec
from langgraph.types import Send
from langserve import add_routes
from langserve.lzstring import LZString
from langserve.serialization import WellKnownLCSerializer
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, with_config
from typing_extensions import TypedDict

from bizsql.api.dependencies import authorize_scope, authorize_thread, current_identity, hit_chat_limit
from bizsql.api.errors import ERROR_RESPONSES, json_invalid
from bizsql.api.routes.playground import sign_in_first
from bizsql.api.schemas import BUSINESS_ID, MESSAGE_HARD_LIMIT, THREAD_ID
from bizsql.api.services import Services
from bizsql.auth.identity import Identity
from bizsql.errors import AuthFailed
from bizsql.graph.context import IDENTITY_KEYS, Context

PATH = "/graph"
STREAMING = ("/stream", "/stream_log", "/stream_events")
CLIENT_KEYS_DROPPED = frozenset({*IDENTITY_KEYS, "user", "checkpoint_ns"})
CLIENT_CONFIG = [
    ConfigurableFieldSpec(  # str with "" for none: the playground's form cannot draw a null type
        id="thread_id",
        annotation=str,
        default="",
        name="Thread",
        description="Continue this conversation (yours, in this business); omit to start one.",
    ),
    ConfigurableFieldSpec(
        id="business_id",
        annotation=str,
        default="",
        name="Business",
        description="Admins only: the business to ask about. Others always get their own.",
    ),
]
LANGSERVE_SSE_EVENT = {
    "type": "object",
    "properties": {"event": {"type": "string"}, "data": {"type": "string"}},
    "required": ["data"],
}


@with_config(ConfigDict(extra="forbid"))
class UserMessage(TypedDict):
    """A dict, not a model: LangServe hands the validated input on as it is, and the graph takes dicts."""

    type: Literal["human"]
    content: Annotated[str, StringConstraints(min_length=1, max_length=MESSAGE_HARD_LIMIT)]


class GraphInput(BaseModel):
    """One new user message per run; the graph keeps the conversation itself."""

    model_config = ConfigDict(extra="forbid")
    messages: list[UserMessage] = Field(min_length=1, max_length=1)


class ServedGraph(RunnableBinding[Any, Any]):  # type: ignore[no-redef]  # pydantic plugin vs kwargs field
    """The graph with the app's clients bound in, the only ``configurable`` keys a client may send
    (LangServe drops undeclared ones), and a narrow input schema."""

    @property
    def config_specs(self) -> list[ConfigurableFieldSpec]:
        return CLIENT_CONFIG

    def get_input_schema(self, config: RunnableConfig | None = None) -> type[BaseModel]:
        return GraphInput


class GraphSerializer(WellKnownLCSerializer):
    """LangServe's serializer, plus what a LangGraph run's events carry that it cannot write: a plan's
    ``Send`` (the step it starts, in the routing function's output). LangServe's own fallback fails on
    any unknown type ("super(): __class__ cell not found"), which broke /graph/stream_events and the
    playground's /graph/stream_log on every planned turn."""

    def dumps(self, obj: Any) -> bytes:
        return orjson.dumps(obj, default=_graph_default)


def _graph_default(obj: Any) -> Any:
    if isinstance(obj, Send):
        return {"send": obj.node, "arg": obj.arg}
    if isinstance(obj, BaseModel):
        return obj.model_dump()
    raise TypeError(f"Type is not JSON serializable: {type(obj).__name__}")


async def well_formed_body(request: Request) -> None:
    """A JSON object whose ``config`` is an object (a list of them for batch) and ``kwargs`` an object."""
    if request.method != "POST":
        return
    try:
        body = json.loads(await request.body())
    except ValueError as exc:  # includes a body that is not UTF-8
        raise json_invalid(exc) from None
    if not isinstance(body, dict):
        raise _invalid(("body",), "the body must be a JSON object")
    config = body.get("config", {})
    configs = config if request.url.path.endswith("/batch") and isinstance(config, list) else [config]
    if not all(isinstance(c, dict) for c in configs):
        raise _invalid(("body", "config"), "config must be an object")
    if request.url.path.endswith("/batch"):
        _one_turn_per_config(body.get("inputs"), config, _url_config(request))
    if not isinstance(body.get("kwargs", {}), dict):
        raise _invalid(("body", "kwargs"), "kwargs must be an object")


def _one_turn_per_config(inputs: Any, config: Any, url_config: dict[str, Any]) -> None:
    """Each batch input is a turn: it needs its own config (the rate limit and the thread are decided per
    config) and its own thread, else the inputs would run at once on one thread for one rate-limit hit.

    LangServe merges the URL's config (/graph/c/{config_hash}/batch) under each input's, so an input that
    names no thread runs on the URL's one.
    """
    if not isinstance(inputs, list):
        raise _invalid(("body", "inputs"), "inputs must be a list")
    if len(inputs) > 1 and not isinstance(config, list):
        raise _invalid(("body", "config"), "send one config per input (a list as long as inputs)")
    from_url = _thread_of(url_config, None)
    threads = [_thread_of(c, from_url) for c in config] if isinstance(config, list) else [from_url]
    seen: dict[str, int] = {}
    for index, thread in enumerate(threads):
        if not isinstance(thread, str) or not thread:
            continue  # no thread: each such input starts a new one
        if thread in seen:
            where = " (the one in the URL's config)" if thread == from_url else ""
            raise _invalid(
                ("body", "config"),
                f"inputs {seen[thread]} and {index} of the batch would run on the same thread{where}; "
                "give each input its own thread_id",
            )
        seen[thread] = index


def _thread_of(config: Any, default: Any) -> Any:
    """The thread an input runs on, as LangServe's merge decides: an input config with any
    ``configurable`` replaces the URL's thread by its own ``thread_id`` (None when it names none, since
    LangServe's config model fills the missing key); without one, the URL's thread stays."""
    configurable = config.get("configurable") if isinstance(config, dict) else None
    if isinstance(configurable, dict):
        return configurable.get("thread_id")
    return default


def _url_config(request: Request) -> dict[str, Any]:
    """The config LangServe decodes from a /c/{config_hash}/ route ({} when there is none, or when it is
    malformed: LangServe answers that with 400 itself)."""
    config_hash = request.path_params.get("config_hash")
    if not config_hash:
        return {}
    try:
        config = json.loads(LZString.decompressFromEncodedURIComponent(config_hash))
    except Exception:  # any failure to decode is LangServe's 400 to give
        return {}
    return config if isinstance(config, dict) else {}


def graph_router(services: Services) -> APIRouter:
    """/graph/invoke, /graph/batch, /graph/stream, ... and /graph/playground, all needing a bearer token.

    Mounted on a router so its routes document the same error responses as the rest of the API.
    """

    async def identity_config(config: dict[str, Any], request: Request) -> dict[str, Any]:
        identity: Identity | None = getattr(request.state, "identity", None)
        if identity is None:
            raise AuthFailed("missing bearer token")
        sent = dict(config.get("configurable") or {})
        scope = await authorize_scope(
            services, identity, _id(sent.get("business_id"), BUSINESS_ID, "business_id")
        )
        await hit_chat_limit(services, scope)
        thread = await authorize_thread(services, scope, _id(sent.get("thread_id"), THREAD_ID, "thread_id"))
        configurable = {
            k: v for k, v in sent.items() if k not in CLIENT_KEYS_DROPPED and not k.startswith("__")
        }
        configurable |= {
            "thread_id": thread,
            "business_id": scope.business_id or "",
            "username": identity.username,
            "role": identity.role,
            "home_business": identity.business_id,
        }
        return {**config, "configurable": configurable}

    runnable = ServedGraph(bound=services.graph, kwargs={"context": Context(deps=services.deps)})
    router = APIRouter(responses=ERROR_RESPONSES)
    add_routes(
        router,
        runnable,
        path=PATH,
        per_req_config_modifier=identity_config,
        dependencies=[Depends(sign_in_first), Depends(current_identity), Depends(well_formed_body)],
        disabled_endpoints=["feedback", "public_trace_link"],  # the playground streams through stream_log
        serializer=GraphSerializer(),
    )
    return router


def document_streams(openapi: dict[str, Any]) -> dict[str, Any]:
    """LangServe documents its streaming routes as JSON; they answer Server-Sent Events."""
    for path, operations in openapi.get("paths", {}).items():
        if path.startswith(PATH) and path.endswith(STREAMING) and "post" in operations:
            ok = operations["post"].setdefault("responses", {}).setdefault("200", {})
            ok["content"] = {"text/event-stream": {"schema": LANGSERVE_SSE_EVENT}}
    return openapi


def _id(value: Any, pattern: str, name: str) -> str | None:
    """A client-sent id, or None; anything that is not a well-formed id is a 422, not a lookup."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not re.fullmatch(pattern, value):
        raise _invalid(("body", "config", "configurable", name), f"malformed {name}")
    return value


def _invalid(loc: tuple[str, ...], message: str) -> RequestValidationError:
    return RequestValidationError([{"loc": loc, "msg": message, "type": "value_error"}])
