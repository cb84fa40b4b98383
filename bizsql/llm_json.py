"""Structured answers without tool calls: the JSON schema asked for, and repair of what comes back.

Small local models often cannot call tools, so the structured calls of the JSON modes ask for a JSON object
(the server may enforce the schema as a grammar) and read it from the answer's text. What does not parse is
repaired (``json-repair``: truncated objects, code fences, prose around the JSON) and validated by the
pydantic schema; what is still wrong is described in one line, for the one retry and for the turn's error.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal, TypeVar, cast

import json_repair
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import Runnable, RunnableLambda
from pydantic import BaseModel, ValidationError

T = TypeVar("T", bound=BaseModel)

INSTRUCTION = """

Answer with one JSON object and nothing else (no prose, no code fence), matching this JSON schema:
{schema}"""

RETRY = """\
Your answer was not the JSON object asked for: {error}.
Answer again with only the JSON object, matching the schema."""


class OutputInvalid(ValueError):
    """An answer that even repaired is not an instance of the schema; the message says what is wrong."""


def json_schema(schema: type[BaseModel]) -> dict[str, Any]:
    """The schema as an OpenAI ``response_format`` JSON schema. A dict, not the pydantic class: with the
    class, langchain-openai lets the OpenAI client validate the answer, which raises before we see it."""
    body = schema.model_json_schema()
    return {"name": schema.__name__, "description": body.pop("description", ""), "schema": body}


def json_answers(
    model: BaseChatModel,
    schema: type[BaseModel],
    mode: Literal["json_schema", "json_object_schema", "json_mode"],
) -> Runnable[Any, dict[str, Any]]:
    """The model asked for JSON in ``mode``, giving ``{"raw": message, "parsed": ...}`` as langchain's
    ``include_raw`` does. llama.cpp's servers (llama-cpp-python's above all, which refuses OpenAI's
    ``json_schema`` form) take the schema inside a ``json_object`` response format and turn it into a
    grammar; langchain-openai has no method for that form, so it goes in the request body as it is."""
    if mode == "json_object_schema":
        response_format = {"type": "json_object", "schema": schema.model_json_schema()}
        body = {**(getattr(model, "extra_body", None) or {}), "response_format": response_format}
        bound = model.bind(extra_body=body)  # the model's own extra_body (max_tokens) is replaced, so kept
        return bound | RunnableLambda(lambda raw: {"raw": raw, "parsed": None})
    structured = model.with_structured_output(json_schema(schema), method=mode, include_raw=True)
    return cast(Runnable[Any, dict[str, Any]], structured)  # include_raw: always the dict


def with_instruction(messages: Sequence[BaseMessage], schema: type[BaseModel]) -> list[BaseMessage]:
    """The prompt with the schema appended to its system message (local chat templates often accept only
    one, first), so a model the server does not constrain still knows the fields and what they mean."""
    shown = json.dumps(schema.model_json_schema(), separators=(",", ":"))
    suffix = INSTRUCTION.format(schema=shown)
    out = list(messages)
    if out and isinstance(out[0], SystemMessage) and isinstance(out[0].content, str):
        out[0] = SystemMessage(out[0].content + suffix)
    else:
        out.insert(0, SystemMessage(suffix.strip()))
    return out


def retry_messages(messages: Sequence[BaseMessage], answer: str, error: OutputInvalid) -> list[BaseMessage]:
    """The prompt once more, with the answer that failed and what was wrong with it."""
    return [*messages, AIMessage(answer or "(empty)"), HumanMessage(RETRY.format(error=error))]


def parse_answer(schema: type[T], parsed: object, text: str) -> T:
    """The answer as an instance of ``schema``: the server's parsed JSON when it validates, else the text
    repaired. Raises OutputInvalid with the first problem found."""
    if isinstance(parsed, schema):
        return parsed
    if isinstance(parsed, dict):
        try:
            return schema.model_validate(parsed)
        except ValidationError:
            pass  # the text may hold more than what the server's parser kept
    data = _repaired(text)
    if not isinstance(data, dict):
        raise OutputInvalid("no JSON object in the answer" if not data else "the JSON is not an object")
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise OutputInvalid(describe(exc)) from exc


def _repaired(text: str) -> Any:
    data = json_repair.loads(text) if text.strip() else ""
    if isinstance(data, list):  # several objects in a row, or one inside a list: the first object wins
        data = next((item for item in data if isinstance(item, dict)), data)
    return data


def describe(exc: ValidationError) -> str:
    """Pydantic's errors as one short line: ``sql: field required; confidence: not a number``."""
    problems = []
    for error in exc.errors()[:3]:
        where = ".".join(str(part) for part in error["loc"]) or "answer"
        problems.append(f"{where}: {error['msg']}")
    return "; ".join(problems)
