"""Structured answers without tool calls: repaired when they do not parse, asked once more when still
wrong, then a clear turn error; the Mistral path's calls stay as they were."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from bizsql.errors import LlmOutputInvalid, LlmUnavailable
from bizsql.llm import LlmClient, TokenUsage
from bizsql.llm_json import OutputInvalid, json_schema, parse_answer, with_instruction
from tests.support.fake_llm import ScriptedChatModel, text_answer, tool_answer


class Draft(BaseModel):
    """A query."""

    sql: str = Field(description="One statement.")
    confidence: float


PROMPT = [SystemMessage("You write SQL."), HumanMessage("How many?")]


def client(model: ScriptedChatModel, mode: str = "json_schema") -> LlmClient:
    return LlmClient(model, structured_mode=mode, backoff_initial=0.001, backoff_max=0.002)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "answer",
    [
        '{"sql": "SELECT 1", "confidence": 0.5}',
        '{"sql": "SELECT 1", "confidence": 0.5',  # truncated
        '```json\n{"sql": "SELECT 1", "confidence": 0.5}\n```',  # code-fenced
        'Here you go: {"sql": "SELECT 1", "confidence": 0.5} I hope this helps!',  # prose around it
    ],
    ids=["plain", "truncated", "code-fenced", "trailing-prose"],
)
def test_answers_that_do_not_parse_are_repaired(answer: str) -> None:
    assert parse_answer(Draft, None, answer) == Draft(sql="SELECT 1", confidence=0.5)


def test_the_servers_parsed_json_is_used_when_it_validates() -> None:
    assert parse_answer(Draft, {"sql": "SELECT 3", "confidence": 1}, "ignored") == Draft(
        sql="SELECT 3", confidence=1
    )


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ('{"query": "SELECT 1", "confidence": 0.5}', "sql: Field required"),
        ('{"sql": "SELECT 1", "confidence": "high"}', "confidence: Input should be a valid number"),
        ("SELECT 1", "no JSON object in the answer"),
        ("", "no JSON object in the answer"),
        ("[1, 2]", "the JSON is not an object"),
    ],
)
def test_what_is_still_wrong_is_said_in_one_line(answer: str, problem: str) -> None:
    with pytest.raises(OutputInvalid, match=problem):
        parse_answer(Draft, None, answer)


def test_the_schema_goes_in_the_system_message_and_as_a_named_response_format() -> None:
    prompt = with_instruction(PROMPT, Draft)
    assert len(prompt) == 2 and isinstance(prompt[0], SystemMessage)
    assert str(prompt[0].content).startswith("You write SQL.\n\nAnswer with one JSON object")
    assert '"sql":{"description":"One statement."' in str(prompt[0].content)
    assert with_instruction([HumanMessage("q")], Draft)[0].type == "system"
    spec = json_schema(Draft)
    assert (spec["name"], spec["description"], spec["schema"]["required"]) == (
        "Draft",
        "A query.",
        ["sql", "confidence"],
    )


async def test_a_repairable_answer_costs_one_call() -> None:
    model = ScriptedChatModel.of(text_answer('```json\n{"sql": "SELECT 1", "confidence": 0.9'))
    draft, usage = await client(model).structured(Draft, PROMPT, business_id="b")
    assert draft == Draft(sql="SELECT 1", confidence=0.9)
    assert usage == TokenUsage(50, 10, 1)


async def test_a_wrong_field_is_retried_once_with_the_error_then_accepted() -> None:
    model = ScriptedChatModel.of(
        text_answer('{"query": "SELECT 1", "confidence": 0.9}'),
        text_answer('{"sql": "SELECT 1", "confidence": 0.9}'),
    )
    draft, usage = await client(model, "json_mode").structured(Draft, PROMPT, business_id="b")
    assert draft.sql == "SELECT 1"
    assert usage == TokenUsage(100, 20, 2)
    retry = model.prompts[1]
    assert isinstance(retry[-2], AIMessage) and '"query"' in str(retry[-2].content)
    assert "sql: Field required" in str(retry[-1].content)


async def test_an_answer_still_wrong_after_the_retry_is_a_clear_llm_error() -> None:
    model = ScriptedChatModel.of(text_answer('{"query": "SELECT 1"}'), text_answer("I cannot do that."))
    with pytest.raises(
        LlmOutputInvalid, match="even when asked again \\(no JSON object in the answer\\)"
    ) as caught:
        await client(model).structured(Draft, PROMPT, business_id="b")
    assert isinstance(caught.value, LlmUnavailable), "every node that handles LlmUnavailable handles it"
    assert (caught.value.code, caught.value.status) == ("llm_output_invalid", 503)
    assert len(model.prompts) == 2


async def test_the_tools_mode_keeps_its_calls_and_prompt() -> None:
    model = ScriptedChatModel.of(tool_answer("Draft", sql="SELECT 1", confidence=0.9))
    draft, usage = await client(model, "tools").structured(Draft, PROMPT, business_id="b")
    assert (draft.sql, usage.calls, len(model.prompts)) == ("SELECT 1", 1, 1)
    assert model.prompts[0] == PROMPT, "no JSON instruction is added to a function-calling prompt"
