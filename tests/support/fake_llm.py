"""langchain-core's fake chat model, taught tool calling so ``with_structured_output`` works on it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import LanguageModelInput
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from pydantic import Field


def tool_answer(name: str, **args: Any) -> AIMessage:
    """What a model answers when it calls the structured-output tool ``name``."""
    return AIMessage(
        content="",
        tool_calls=[{"name": name, "args": args, "id": "call12345", "type": "tool_call"}],
        usage_metadata={"input_tokens": 100, "output_tokens": 20, "total_tokens": 120},
    )


def text_answer(content: str) -> AIMessage:
    return AIMessage(
        content=content, usage_metadata={"input_tokens": 50, "output_tokens": 10, "total_tokens": 60}
    )


class ScriptedChatModel(GenericFakeChatModel):
    """Answers from a script, in order, and records every prompt it was given.

    An item may be an exception instance, which the call raises (to test retries and failures).
    """

    prompts: list[list[BaseMessage]] = Field(default_factory=list)
    script: list[Any] = Field(default_factory=list)

    @classmethod
    def of(cls, *answers: AIMessage | str | BaseException) -> ScriptedChatModel:
        return cls(messages=iter(()), script=list(answers))

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Runnable[LanguageModelInput, AIMessage]:
        return self  # the script already holds the tool calls

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        self.prompts.append(list(messages))
        if not self.script:
            raise AssertionError("the fake LLM was called more often than scripted")
        answer = self.script.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        message = AIMessage(content=answer) if isinstance(answer, str) else answer
        return ChatResult(generations=[ChatGeneration(message=message)])

    def prompt_text(self, index: int = -1) -> str:
        return "\n".join(str(m.content) for m in self.prompts[index])


class RoutedChatModel(ScriptedChatModel):
    """Answers by what the prompt says, not by call order, for calls that run at the same time (a plan's
    parallel steps): each route is a text the prompt must contain and its answer, used once, first
    match first. Records every prompt, and when each call began and ended (to show overlap)."""

    routes: list[tuple[str, Any]] = Field(default_factory=list)
    delay_s: float = 0.0
    calls: list[tuple[str, float, float]] = Field(default_factory=list)

    @classmethod
    def routed(cls, *routes: tuple[str, Any], delay_s: float = 0.0) -> RoutedChatModel:
        return cls(messages=iter(()), routes=list(routes), delay_s=delay_s)

    def _answer(self, messages: list[BaseMessage]) -> tuple[str, AIMessage]:
        self.prompts.append(list(messages))
        text = "\n".join(str(m.content) for m in messages)
        for i, (key, answer) in enumerate(self.routes):
            if key in text:
                del self.routes[i]
                if isinstance(answer, BaseException):
                    raise answer
                return key, AIMessage(content=answer) if isinstance(answer, str) else answer
        raise AssertionError(f"no scripted answer for a prompt ending: {text[-300:]!r}")

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        started = time.perf_counter()
        key, message = self._answer(messages)
        if self.delay_s:  # a streamed call runs here, in a worker thread
            time.sleep(self.delay_s)
        self.calls.append((key, started, time.perf_counter()))
        return ChatResult(generations=[ChatGeneration(message=message)])

    async def _agenerate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        started = time.perf_counter()
        key, message = self._answer(messages)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        self.calls.append((key, started, time.perf_counter()))
        return ChatResult(generations=[ChatGeneration(message=message)])
