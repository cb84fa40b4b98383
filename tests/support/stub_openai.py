"""A local HTTP server that speaks the OpenAI chat-completions API as llama.cpp's llama-server does,
scripted per test like ``stub_mistral`` (whose scripts it takes unchanged).

A structured call of the JSON modes asks with ``response_format`` (``json_schema`` naming the schema, or
``json_object``) and no tools, so a scripted ``tool("SqlDraft", ...)`` is answered as the JSON object in the
message's content, the way a server that enforces the schema answers. ``raw(text)`` answers any text
instead (truncated JSON, prose), to exercise repair. Answers and requests are in OpenAI's shape, which is
the one ``stub_mistral`` already writes (choices, message, usage; SSE chunks when streamed).

    stub.script(tool("Classification", intent="database", standalone_question="..."),
                raw('{"sql": "SELECT 1", "confidence": 0.9'), text("There is one."))
"""

from __future__ import annotations

import json
from typing import Any

from tests.support.stub_mistral import Reply, StubMistral, tool_names


def raw(content: str) -> Reply:
    """Answer a structured call with this text as it is, whatever schema it asked for."""
    return Reply(text=content, args={"raw": True})


def response_schema(request: dict[str, Any]) -> str | None:
    """The name of the JSON schema a request asks for, ``json_object`` for JSON mode, None for text."""
    fmt = request.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return str(fmt.get("json_schema", {}).get("name", ""))
    return "json_object" if fmt.get("type") == "json_object" else None


class StubOpenAI(StubMistral):
    """The server plus its script and its record of requests."""

    def requests_for(self, tool_name: str) -> list[dict[str, Any]]:
        """Requests for one schema: by response_format name in json_schema mode, by tool otherwise."""
        return [r for r in self.requests if tool_name in (response_schema(r), *tool_names(r))]

    def _next(self, request: dict[str, Any]) -> Reply | None:
        wanted = response_schema(request)
        if wanted is None:
            return super()._next(request)
        with self._lock:
            self.requests.append(request)
            if not self._script:
                self.unexpected.append(f"no scripted reply for a request for {wanted}")
                return None
            step = self._script.popleft()
        reply = step(request) if callable(step) else step
        if reply.args.get("raw") is True or reply.status != 200:
            return Reply(text=reply.text, status=reply.status)
        if not reply.tool or wanted not in (reply.tool, "json_object"):
            self.unexpected.append(f"scripted {reply.tool or 'text'} but the request asked for {wanted}")
            return None
        return Reply(text=json.dumps(reply.args))
