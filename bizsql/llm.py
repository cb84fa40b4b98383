"""The chat model behind the graph: built from settings, retried with backoff, failing as LlmUnavailable.

Nodes never talk to ChatMistralAI directly: they call an ``LlmClient``, which retries transient faults
(network, 429, 5xx, an answer without the requested tool call), turns the rest into a typed error a user can
read, checks an optional token budget before each call and reports each call's token usage after it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast

import httpx
import structlog
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from bizsql.config import Settings
from bizsql.errors import LlmUnavailable

log = structlog.get_logger(__name__)

T = TypeVar("T", bound=BaseModel)
R = TypeVar("R", bound=tuple[Any, "TokenUsage"])
RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
NO_LLM_MESSAGE = (
    "No LLM is configured (MISTRAL_API_KEY is not set), so I can only answer this business's verified "
    "questions."
)
ANSWER_TAG = "bizsql:answer"
"""Tag on the LLM calls whose tokens are the user-visible answer, so a token stream can pick them out."""


@dataclass(frozen=True)
class TokenUsage:
    """Tokens one or more LLM calls used, as the provider reported them."""

    input_tokens: int = 0
    output_tokens: int = 0
    calls: int = 0

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.calls + other.calls,
        )

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @classmethod
    def of(cls, message: BaseMessage | None) -> TokenUsage:
        meta = getattr(message, "usage_metadata", None) or {}
        return cls(int(meta.get("input_tokens", 0)), int(meta.get("output_tokens", 0)), 1)

    def as_dict(self) -> dict[str, int]:
        return {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens, "calls": self.calls}


class LlmBudget(Protocol):
    """The service's daily token budget: ``check`` raises RateLimited when spent, ``record`` counts."""

    async def check(self, business_id: str) -> None: ...

    async def record(self, business_id: str, usage: TokenUsage) -> None: ...


class MissingToolCall(Exception):
    """The model answered, but not with the structured output we asked for (worth one more try)."""


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code in RETRYABLE_STATUS
    return isinstance(exc, httpx.TransportError | httpx.StreamError | MissingToolCall)


def _unavailable(exc: BaseException) -> LlmUnavailable:
    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        if status in (401, 403):
            return LlmUnavailable("the LLM provider rejected the API key (check MISTRAL_API_KEY)")
        if status == 429:
            return LlmUnavailable("the LLM provider is rate-limiting us; try again in a minute")
        return LlmUnavailable(f"the LLM provider answered HTTP {status}; try again later")
    if isinstance(exc, httpx.TimeoutException):
        return LlmUnavailable("the LLM did not answer in time; try again later")
    if isinstance(exc, httpx.TransportError):
        return LlmUnavailable("the LLM provider cannot be reached; try again later")
    if isinstance(exc, MissingToolCall):
        return LlmUnavailable("the LLM did not return a usable answer; try rephrasing the question")
    return LlmUnavailable(f"the LLM call failed: {type(exc).__name__}")


class LlmClient:
    """One chat model with retries, typed failures, an optional budget and usage accounting."""

    def __init__(
        self,
        model: BaseChatModel,
        *,
        attempts: int = 3,
        budget: LlmBudget | None = None,
        backoff_initial: float = 0.5,
        backoff_max: float = 8.0,
    ) -> None:
        self.model = model
        self.attempts = attempts
        self.budget = budget
        self._backoff = (backoff_initial, backoff_max)

    async def structured(
        self, schema: type[T], messages: Sequence[BaseMessage], *, business_id: str, tags: Sequence[str] = ()
    ) -> tuple[T, TokenUsage]:
        """Ask for an instance of ``schema`` (function calling); retried when the answer does not parse."""
        runnable = self.model.with_structured_output(schema, include_raw=True)
        config: RunnableConfig = {"tags": list(tags)}

        async def call() -> tuple[T, TokenUsage]:
            out = cast(dict[str, Any], await runnable.ainvoke(list(messages), config=config))
            usage = TokenUsage.of(out.get("raw"))
            parsed = out.get("parsed")
            if not isinstance(parsed, schema):
                raise MissingToolCall(str(out.get("parsing_error") or "no tool call in the answer"))
            return parsed, usage

        return await self._run(call, business_id)

    async def text(
        self, messages: Sequence[BaseMessage], *, business_id: str, tags: Sequence[str] = (ANSWER_TAG,)
    ) -> tuple[str, TokenUsage]:
        """A plain text answer (streamed token by token when the graph is streamed in messages mode)."""
        config: RunnableConfig = {"tags": list(tags)}

        async def call() -> tuple[str, TokenUsage]:
            message = await self.model.ainvoke(list(messages), config=config)
            text = message.text if isinstance(message, AIMessage) else str(message.content)
            return text.strip(), TokenUsage.of(message)

        return await self._run(call, business_id)

    async def _run(self, call: Callable[[], Awaitable[R]], business_id: str) -> R:
        if self.budget is not None:
            await self.budget.check(business_id)
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential_jitter(initial=self._backoff[0], max=self._backoff[1]),
            retry=retry_if_exception(_is_transient),
            reraise=True,
        )
        try:
            result: R = await retrying(call)
        except (httpx.HTTPError, httpx.StreamError, MissingToolCall) as exc:
            log.warning("llm call failed", business_id=business_id, error=str(exc)[:300])
            raise _unavailable(exc) from exc
        if self.budget is not None:
            await self.budget.record(business_id, result[1])
        return result


def chat_model(settings: Settings) -> BaseChatModel | None:
    """A ChatMistralAI from settings, or None when no API key is configured. Opens no connection.

    ``streaming`` is left unset on purpose: set to False it would stop token streaming even when the graph
    is streamed in messages mode.
    """
    if settings.mistral_api_key is None or not settings.mistral_api_key.get_secret_value():
        return None
    from langchain_mistralai import ChatMistralAI

    kwargs: dict[str, Any] = {}
    if settings.mistral_base_url:
        kwargs["endpoint"] = settings.mistral_base_url
    return ChatMistralAI(
        model=settings.llm_model,
        api_key=settings.mistral_api_key,
        temperature=settings.llm_temperature,
        timeout=settings.llm_timeout_seconds,
        max_retries=1,  # our tenacity loop retries, with backoff and on HTTP status codes too
        **kwargs,
    )


def make_llm(settings: Settings, *, budget: LlmBudget | None = None) -> LlmClient | None:
    """The graph's LLM client from settings, or None without an API key (verified questions still work)."""
    model = chat_model(settings)
    if model is None:
        return None
    return LlmClient(model, attempts=settings.llm_attempts, budget=budget)
