"""Counting what each answer cost: LLM requests, prompt and completion tokens, from LangChain callbacks.

The graph's own ``usage`` counts the tokens the provider reported for successful calls. The eval wants the
same measure for bizsql and the baseline, so a callback sees every chat request either system sends
(retried ones too), counts its prompt with one tokenizer (``tokens.get_counter()``, tool definitions
included) and also keeps what the provider reported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from langchain_core.callbacks import AsyncCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGeneration, LLMResult

from bizsql.evals.tokens import TokenCounter

SQL_TOOL = "SqlDraft"


@dataclass(frozen=True)
class Usage:
    """LLM cost of one answer. ``prompt_tokens`` and ``completion_tokens`` are counted by our tokenizer;
    the ``provider_*`` figures are what the API reported (a stub reports an estimate)."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    provider_prompt_tokens: int = 0
    provider_completion_tokens: int = 0
    sql_prompt_tokens: int = 0
    """Prompt tokens of the SQL-writing requests alone (structured output ``SQL_TOOL``)."""

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.calls + other.calls,
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.provider_prompt_tokens + other.provider_prompt_tokens,
            self.provider_completion_tokens + other.provider_completion_tokens,
            self.sql_prompt_tokens + other.sql_prompt_tokens,
        )


def _completion_text(generation: Any) -> str:
    """What the model wrote: its text, plus the arguments of any tool call (the structured output)."""
    message = generation.message if isinstance(generation, ChatGeneration) else None
    if message is None:
        return str(getattr(generation, "text", "") or "")
    content = message.content if isinstance(message.content, str) else json.dumps(message.content)
    calls = getattr(message, "tool_calls", None) or []
    return content + "".join(json.dumps(c.get("args", {}), sort_keys=True) for c in calls)


class LlmMeter(AsyncCallbackHandler):
    """Pass as a callback to a graph run (or any runnable); ``take()`` returns and resets the tally."""

    run_inline = True

    def __init__(self, counter: TokenCounter) -> None:
        self.counter = counter
        self._pending: dict[UUID, tuple[int, bool]] = {}
        self._usage = Usage()

    async def on_chat_model_start(
        self, serialized: dict[str, Any], messages: list[list[BaseMessage]], *, run_id: UUID, **kwargs: Any
    ) -> None:
        tools = (kwargs.get("invocation_params") or {}).get("tools") or []
        writes_sql = any((t.get("function") or {}).get("name") == SQL_TOOL for t in tools)
        prompt = sum(self.counter.count_prompt(batch, tools) for batch in messages)
        self._pending[run_id] = (prompt, writes_sql)

    async def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        prompt, writes_sql = self._pending.pop(run_id, (0, False))
        generations = [g for batch in response.generations for g in batch]
        completion = sum(self.counter.count_text(_completion_text(g)) for g in generations)
        reported = [getattr(getattr(g, "message", None), "usage_metadata", None) or {} for g in generations]
        self._usage += Usage(
            1,
            prompt,
            completion,
            sum(int(r.get("input_tokens", 0)) for r in reported),
            sum(int(r.get("output_tokens", 0)) for r in reported),
            prompt if writes_sql else 0,
        )

    async def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """A failed request still sent its prompt (and may be retried): count it."""
        prompt, writes_sql = self._pending.pop(run_id, (0, False))
        self._usage += Usage(1, prompt, sql_prompt_tokens=prompt if writes_sql else 0)

    def take(self) -> Usage:
        usage, self._usage = self._usage, Usage()
        self._pending.clear()
        return usage
