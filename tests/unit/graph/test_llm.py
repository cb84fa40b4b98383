"""The LLM client: retries transient faults, fails clearly, honours a budget, counts tokens."""

from __future__ import annotations

import httpx
import pytest
from langchain_core.messages import HumanMessage
from pydantic import BaseModel, SecretStr

from bizsql.config import Settings
from bizsql.errors import LlmUnavailable, RateLimited
from bizsql.llm import LlmClient, TokenUsage, make_llm
from tests.support.fake_llm import ScriptedChatModel, text_answer, tool_answer

REQUEST = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")


class Answer(BaseModel):
    value: int


def status_error(code: int) -> httpx.HTTPStatusError:
    return httpx.HTTPStatusError("boom", request=REQUEST, response=httpx.Response(code, request=REQUEST))


def client(model: ScriptedChatModel, **kwargs: object) -> LlmClient:
    return LlmClient(model, attempts=3, backoff_initial=0.001, backoff_max=0.002, **kwargs)  # type: ignore[arg-type]


async def test_structured_answer_and_its_token_usage() -> None:
    model = ScriptedChatModel.of(tool_answer("Answer", value=7))
    parsed, usage = await client(model).structured(Answer, [HumanMessage("q")], business_id="b")
    assert parsed == Answer(value=7)
    assert usage == TokenUsage(100, 20, 1)


@pytest.mark.parametrize("fault", [status_error(503), status_error(429), httpx.ConnectError("refused")])
async def test_transient_faults_are_retried(fault: Exception) -> None:
    model = ScriptedChatModel.of(fault, text_answer("fine"))
    answer, _ = await client(model).text([HumanMessage("q")], business_id="b")
    assert answer == "fine"
    assert len(model.prompts) == 2


async def test_a_rejected_key_fails_at_once_with_a_clear_message() -> None:
    model = ScriptedChatModel.of(status_error(401), text_answer("never"))
    with pytest.raises(LlmUnavailable, match="API key"):
        await client(model).text([HumanMessage("q")], business_id="b")
    assert len(model.prompts) == 1


async def test_an_answer_without_the_tool_call_is_retried_then_reported() -> None:
    model = ScriptedChatModel.of(text_answer("chatty"), text_answer("still chatty"), text_answer("no"))
    with pytest.raises(LlmUnavailable, match="usable answer"):
        await client(model).structured(Answer, [HumanMessage("q")], business_id="b")
    assert len(model.prompts) == 3


async def test_persistent_outage_becomes_llm_unavailable_after_all_attempts() -> None:
    model = ScriptedChatModel.of(status_error(502), status_error(502), status_error(502))
    with pytest.raises(LlmUnavailable, match="HTTP 502"):
        await client(model).text([HumanMessage("q")], business_id="b")
    assert len(model.prompts) == 3


class Budget:
    def __init__(self, spent: bool) -> None:
        self.spent = spent
        self.recorded: list[tuple[str, TokenUsage]] = []

    async def check(self, business_id: str) -> None:
        if self.spent:
            raise RateLimited(f"{business_id} spent its daily token budget", retry_after=3600)

    async def record(self, business_id: str, usage: TokenUsage) -> None:
        self.recorded.append((business_id, usage))


async def test_budget_is_checked_before_and_charged_after_each_call() -> None:
    budget = Budget(spent=False)
    await client(ScriptedChatModel.of(text_answer("hi")), budget=budget).text(
        [HumanMessage("q")], business_id="b"
    )
    assert budget.recorded == [("b", TokenUsage(50, 10, 1))]

    model = ScriptedChatModel.of(text_answer("hi"))
    with pytest.raises(RateLimited):
        await client(model, budget=Budget(spent=True)).text([HumanMessage("q")], business_id="b")
    assert model.prompts == [], "a spent budget stops the call before it is made"


def test_no_api_key_means_no_llm_client_and_a_key_builds_mistral() -> None:
    assert make_llm(Settings(mistral_api_key=None)) is None
    llm = make_llm(Settings(mistral_api_key=SecretStr("k"), mistral_base_url="http://127.0.0.1:9/v1"))
    assert llm is not None
    assert type(llm.model).__name__ == "ChatMistralAI"
    assert llm.model.endpoint == "http://127.0.0.1:9/v1"  # type: ignore[attr-defined]
