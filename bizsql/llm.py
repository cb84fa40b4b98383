"""The chat model behind the graph: built from settings, retried with backoff, failing as LlmUnavailable.

Nodes never talk to a chat model directly: they call an ``LlmClient``, which retries transient faults
(network, 429, 5xx, an answer without the requested tool call), turns the rest into a typed error a user can
read, checks an optional token budget before each call and reports each call's token usage after it.
Structured answers come by function calling, or, for models that cannot call tools, as JSON that is
repaired and asked for once more when it does not parse (``bizsql.llm_json``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast

import httpx
import openai
import structlog
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from bizsql.config import Settings
from bizsql.config_llm import StructuredMode
from bizsql.errors import LlmOutputInvalid, LlmUnavailable
from bizsql.llm_json import OutputInvalid, json_answers, parse_answer, retry_messages, with_instruction
from bizsql.llm_providers import ProviderModel, provider_model

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


class TurnUsage(UsageMetadata, total=False):
    """LLM tokens as langchain-core counts them, and how many calls spent them (the graph state's)."""

    calls: int


@dataclass(frozen=True)
class TokenUsage:
    """Tokens one or more LLM calls used, as the provider reported them."""

    input_tokens: int = 0
    output_tokens: int = 0
    calls: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @classmethod
    def of(cls, message: BaseMessage | None) -> TokenUsage:
        meta = getattr(message, "usage_metadata", None) or {}
        return cls(int(meta.get("input_tokens", 0)), int(meta.get("output_tokens", 0)), 1)

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.calls + other.calls,
        )

    def as_metadata(self) -> TurnUsage:
        """As the graph state counts usage (langchain-core's ``UsageMetadata``, plus the calls)."""
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
            "calls": self.calls,
        }


class LlmBudget(Protocol):
    """The service's daily token budget: ``check`` raises RateLimited when spent, ``record`` counts."""

    async def check(self, business_id: str) -> None: ...

    async def record(self, business_id: str, usage: TokenUsage) -> None: ...

    async def remaining(self, business_id: str) -> int | None:
        """Tokens left today (None: no limit, or not known), for refusing a plan before it starts."""
        ...


class MissingToolCall(Exception):
    """The model answered, but not with the structured output we asked for (worth one more try)."""


LLM_FAULTS = (httpx.HTTPError, httpx.StreamError, openai.APIError, MissingToolCall)
"""What a chat model raises when its provider fails: httpx's (Mistral), the OpenAI client's, ours."""


def _status(exc: BaseException) -> int | None:
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code
    return None


def _is_transient(exc: BaseException) -> bool:
    status = _status(exc)
    if status is not None:
        return status in RETRYABLE_STATUS
    return isinstance(
        exc, httpx.TransportError | httpx.StreamError | openai.APIConnectionError | MissingToolCall
    )


def _unavailable(exc: BaseException, key_variable: str) -> LlmUnavailable:
    status = _status(exc)
    if status is not None:
        if status in (401, 403):
            return LlmUnavailable(f"the LLM provider rejected the API key (check {key_variable})")
        if status == 429:
            return LlmUnavailable("the LLM provider is rate-limiting us; try again in a minute")
        return LlmUnavailable(f"the LLM provider answered HTTP {status}; try again later")
    if isinstance(exc, httpx.TimeoutException | openai.APITimeoutError):
        return LlmUnavailable("the LLM did not answer in time; try again later")
    if isinstance(exc, httpx.TransportError | openai.APIConnectionError):
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
        structured_mode: StructuredMode = "tools",
        key_variable: str = "MISTRAL_API_KEY",
    ) -> None:
        self.model = model
        self.attempts = attempts
        self.budget = budget
        self.structured_mode = structured_mode
        self.key_variable = key_variable
        self._backoff = (backoff_initial, backoff_max)

    async def budget_left(self, business_id: str) -> int | None:
        """Tokens the business may still spend today (None: no limit, or no budget here)."""
        return await self.budget.remaining(business_id) if self.budget is not None else None

    async def structured(
        self, schema: type[T], messages: Sequence[BaseMessage], *, business_id: str, tags: Sequence[str] = ()
    ) -> tuple[T, TokenUsage]:
        """Ask for an instance of ``schema``: by function calling (retried when the answer has no tool
        call), or in a JSON mode (repaired, then asked once more, when the answer does not parse)."""
        if self.structured_mode != "tools":
            return await self._structured_json(schema, messages, business_id=business_id, tags=tags)
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

    async def _structured_json(
        self, schema: type[T], messages: Sequence[BaseMessage], *, business_id: str, tags: Sequence[str]
    ) -> tuple[T, TokenUsage]:
        """One call, and one more that is told what was wrong when the answer, even repaired, is not an
        instance of ``schema``; after that a clear LlmOutputInvalid."""
        assert self.structured_mode != "tools"
        runnable = json_answers(self.model, schema, self.structured_mode)
        config: RunnableConfig = {"tags": list(tags)}
        prompt = with_instruction(messages, schema)
        spent = TokenUsage()
        for attempt in range(2):

            async def call(prompt: list[BaseMessage] = prompt) -> tuple[tuple[object, str], TokenUsage]:
                out = cast(dict[str, Any], await runnable.ainvoke(prompt, config=config))
                raw = out.get("raw")
                text = raw.text if isinstance(raw, AIMessage) else str(getattr(raw, "content", "") or "")
                return (out.get("parsed"), text), TokenUsage.of(raw)

            (parsed, text), usage = await self._run(call, business_id)
            spent += usage
            try:
                return parse_answer(schema, parsed, text), spent
            except OutputInvalid as exc:
                log.warning(
                    "llm answer is not valid JSON", attempt=attempt + 1, error=str(exc), text=text[:300]
                )
                problem = exc
                prompt = retry_messages(prompt, text, exc)
        raise LlmOutputInvalid(
            f"the LLM did not answer with the JSON asked for, even when asked again ({problem}); "
            "try rephrasing the question"
        )

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
        except LLM_FAULTS as exc:
            log.warning("llm call failed", business_id=business_id, error=str(exc)[:300])
            raise _unavailable(exc, self.key_variable) from exc
        if self.budget is not None:
            await self.budget.record(business_id, result[1])
        return result


def make_llm(settings: Settings, *, budget: LlmBudget | None = None) -> LlmClient | None:
    """The graph's LLM client from settings, or None when Mistral has no API key (verified questions still
    work). Raises LlmMisconfigured when the provider cannot be built (a missing local runtime)."""
    built: ProviderModel | None = provider_model(settings)
    if built is None:
        return None
    return LlmClient(
        built.model,
        attempts=settings.llm_attempts,
        budget=budget,
        structured_mode=settings.structured_mode,
        key_variable=built.key_variable,
    )
