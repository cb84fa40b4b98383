"""A local HTTP server that speaks Mistral's chat-completions API, scripted per test.

It answers ``POST /v1/chat/completions`` in the shape ChatMistralAI parses: a text answer, or a tool call
(``with_structured_output`` asks for one with ``tool_choice: "any"``), plain JSON or streamed as SSE
``data:`` chunks ending in ``data: [DONE]``. Each request is recorded, so a test can check what the LLM
was shown, or that it was never called. A request the script does not expect gets HTTP 400 (which the
graph reports as LlmUnavailable, without retrying) and is listed in ``unexpected``.

    stub.script(tool("Classification", intent="database", standalone_question="..."),
                tool("SqlDraft", sql="SELECT 1", confidence=0.9, explanation="..."),
                text("There is one."))
"""

from __future__ import annotations

import json
import random
import string
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from bizsql.embedded import free_port


@dataclass(frozen=True)
class Reply:
    """One scripted answer: a tool call (``tool`` + ``args``), a text, or an HTTP error (``status``)."""

    tool: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    text: str = ""
    status: int = 200


def tool(name: str, **args: Any) -> Reply:
    return Reply(tool=name, args=args)


def text(content: str) -> Reply:
    return Reply(text=content)


def http_error(status: int) -> Reply:
    return Reply(status=status)


Script = Reply | Callable[[dict[str, Any]], Reply]


def tool_names(request: dict[str, Any]) -> list[str]:
    return [t["function"]["name"] for t in request.get("tools") or []]


def prompt_text(request: dict[str, Any]) -> str:
    """Everything the LLM was shown in one request, as one string (for assertions)."""
    return "\n".join(str(m.get("content") or "") for m in request.get("messages", []))


def _call_id() -> str:
    return "".join(random.choices(string.ascii_letters + string.digits, k=9))


class StubMistral:
    """The server plus its script and its record of requests."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.unexpected: list[str] = []
        self._script: deque[Script] = deque()
        self._lock = threading.Lock()
        self.port = free_port()
        app = Starlette(routes=[Route("/v1/chat/completions", self._handle, methods=["POST"])])
        self._server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True, name="stub-mistral")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> StubMistral:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("stub Mistral server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)

    def script(self, *replies: Script) -> None:
        with self._lock:
            self._script.extend(replies)

    def reset(self) -> None:
        with self._lock:
            self._script.clear()
            self.requests.clear()
            self.unexpected.clear()

    @property
    def pending(self) -> int:
        return len(self._script)

    def requests_for(self, tool_name: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if tool_name in tool_names(r)]

    def _next(self, request: dict[str, Any]) -> Reply | None:
        with self._lock:
            self.requests.append(request)
            if not self._script:
                self.unexpected.append(f"no scripted reply for a request with tools {tool_names(request)}")
                return None
            step = self._script.popleft()
        reply = step(request) if callable(step) else step
        if reply.tool and reply.tool not in tool_names(request):
            self.unexpected.append(
                f"scripted tool {reply.tool} but the request offered {tool_names(request)}"
            )
            return None
        if not reply.tool and reply.status == 200 and tool_names(request):
            self.unexpected.append(f"scripted text but the request asked for {tool_names(request)}")
            return None
        return reply

    async def _handle(self, request: Request) -> Response:
        body = await request.json()
        if not request.headers.get("authorization", "").startswith("Bearer "):
            return JSONResponse({"message": "Unauthorized"}, status_code=401)
        reply = self._next(body)
        if reply is None:
            return JSONResponse({"message": self.unexpected[-1]}, status_code=400)
        if reply.status != 200:
            return JSONResponse({"message": f"scripted error {reply.status}"}, status_code=reply.status)
        usage = {
            "prompt_tokens": max(1, len(prompt_text(body)) // 4),
            "completion_tokens": max(1, len(reply.text or json.dumps(reply.args)) // 4),
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        message: dict[str, Any] = {"role": "assistant", "content": reply.text}
        if reply.tool:
            message["tool_calls"] = [
                {"id": _call_id(), "type": "function",
                 "function": {"name": reply.tool, "arguments": json.dumps(reply.args)}}
            ]  # fmt: skip
        finish = "tool_calls" if reply.tool else "stop"
        if body.get("stream"):
            return StreamingResponse(
                _sse(body.get("model", ""), message, finish, usage), media_type="text/event-stream"
            )
        return JSONResponse(
            {
                "id": f"cmpl-{_call_id()}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", ""),
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": usage,
            }
        )


def _sse(model: str, message: dict[str, Any], finish: str, usage: dict[str, int]) -> Iterator[str]:
    """Mistral's streaming shape: role first, content in small pieces, tool calls whole, usage last."""
    base = {"id": f"cmpl-{_call_id()}", "object": "chat.completion.chunk", "model": model}

    def chunk(delta: dict[str, Any], finish_reason: str | None = None, **extra: Any) -> str:
        payload = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}], **extra}
        return f"data: {json.dumps(payload)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    content = message.get("content") or ""
    for start in range(0, len(content), 8):
        yield chunk({"content": content[start : start + 8]})
    if message.get("tool_calls"):
        yield chunk({"tool_calls": message["tool_calls"]})
    yield chunk({"content": ""}, finish, usage=usage)
    yield "data: [DONE]\n\n"
