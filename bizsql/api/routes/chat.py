"""/chat and /chat/stream: check the request once (``chat_turn``), then hand it to ``graph.run``;
/chat/approve decides a write that waits for approval (``api.approvals``)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Request
from sse_starlette import EventSourceResponse

from bizsql.api import approvals
from bizsql.api.dependencies import IdentityDep, ServicesDep, authorize_turn, check_message
from bizsql.api.errors import APPROVAL_RESPONSES, ERROR_RESPONSES
from bizsql.api.schemas import ApproveRequest, ChatRequest, ChatResult
from bizsql.graph.run import Timing, Turn, run_turn, stream_turn

log = structlog.get_logger(__name__)
router = APIRouter(tags=["chat"], responses=ERROR_RESPONSES)

SSE_PING_S = 15


async def chat_turn(body: ChatRequest, identity: IdentityDep, services: ServicesDep) -> Turn:
    message = check_message(services, body.message)
    return await authorize_turn(services, identity, body.business_id, body.thread_id, message)


TurnDep = Annotated[Turn, Depends(chat_turn)]

SSE_EVENT = {
    "type": "object",
    "properties": {
        "event": {
            "type": "string",
            "enum": ["node", "plan", "step_started", "step_sql", "step_rows", "token", "final", "error"],
        },
        "data": {
            "type": "string",
            "description": "JSON: {node}; {steps} (the plan's questions); {index, question}; "
            "{index, sql}; {index, columns, rows, row_count, truncated, error}; {text}; the chat result; "
            "or {error, detail}.",
        },
    },
    "required": ["event", "data"],
}
STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-Sent Events: `node` ({node}) as each step ends; for a planned turn `plan` "
        "({steps}), then per step `step_started`, `step_sql` and `step_rows` (each with its `index`); "
        "`token` ({text}) as the answer is written; then `final` (the same body as POST /chat), or "
        "`error` ({error, detail}).",
        "content": {"text/event-stream": {"schema": SSE_EVENT}},
    }
}


@router.post("/chat")
async def chat(turn: TurnDep, request: Request, services: ServicesDep) -> ChatResult:
    """Run one turn: the answer, and for data questions the SQL, rows and a chart."""
    timing = Timing()
    try:
        return await run_turn(services.graph, services.deps, turn, timing)
    finally:
        request.state.graph_ms = timing.graph_ms


@router.post("/chat/approve", responses=APPROVAL_RESPONSES)
async def approve(
    body: ApproveRequest, identity: IdentityDep, request: Request, services: ServicesDep
) -> ChatResult:
    """Approve or reject a write that waits in the thread: the turn's answer once decided (or, if its rows
    changed since the dry run, ``approval_required`` again with a new approval id)."""
    timing = Timing()
    try:
        return await approvals.decide(services, identity, body, timing)
    finally:
        request.state.graph_ms = timing.graph_ms


@router.post("/chat/stream", response_class=EventSourceResponse, responses=STREAM_DOC)
async def chat_stream(turn: TurnDep, services: ServicesDep) -> EventSourceResponse:
    """The same turn as POST /chat, streamed: progress, answer tokens, then the full result."""

    async def events() -> AsyncIterator[dict[str, str]]:
        try:
            async for event, data in stream_turn(services.graph, services.deps, turn):
                yield {"event": event, "data": json.dumps(data, default=str)}
        except Exception:
            log.exception("chat stream failed", thread_id=turn.thread_id)
            failure = {"error": "internal_error", "detail": "the server failed to finish this answer"}
            yield {"event": "error", "data": json.dumps(failure)}

    return EventSourceResponse(events(), ping=SSE_PING_S, headers={"X-Thread-ID": turn.thread_id})
