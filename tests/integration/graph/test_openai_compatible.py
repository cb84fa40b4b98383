"""A turn end to end with BIZSQL_LLM_PROVIDER=openai_compatible: ChatOpenAI in json_schema mode talking to
a stub that answers as llama.cpp's llama-server does, on the real demo databases."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from bizsql.config import Settings
from bizsql.graph.clients import build_deps
from bizsql.graph.interfaces import Deps
from bizsql.llm import make_llm
from bizsql.nodes.generate_sql import SqlDraft
from tests.integration.graph.conftest import Chat, query
from tests.support.stub_mistral import text, tool
from tests.support.stub_openai import StubOpenAI, raw

pytestmark = pytest.mark.integration

TIERS_SQL = (
    "SELECT loyalty_tier, count(*) AS customers FROM customers GROUP BY loyalty_tier ORDER BY loyalty_tier"
)
QUESTION = "How many customers are in each loyalty tier?"


@pytest.fixture(scope="module")
def openai_stub() -> Iterator[StubOpenAI]:
    stub = StubOpenAI().start()
    yield stub
    stub.stop()


@pytest.fixture
def stub(openai_stub: StubOpenAI) -> Iterator[StubOpenAI]:
    openai_stub.reset()
    yield openai_stub
    assert openai_stub.unexpected == [], openai_stub.unexpected


@pytest.fixture
async def deps(graph_settings: Settings, openai_stub: StubOpenAI) -> AsyncIterator[Deps]:
    settings = Settings(
        **{
            **graph_settings.model_dump(exclude={"llm_provider", "llm_model", "llm_structured"}),
            "llm_provider": "openai_compatible",
            "llm_base_url": openai_stub.url,
            "llm_model": "qwen2.5-coder-1.5b",
        }
    )
    deps = build_deps(settings)
    yield deps
    await deps.aclose()


async def test_a_turn_completes_on_an_openai_compatible_server_in_json_schema_mode(
    deps: Deps, stub: StubOpenAI, graph_settings: Settings
) -> None:
    fenced_and_cut = f'```json\n{{"sql": "{TIERS_SQL}", "confidence": 0.8, "explanation": "tiers'
    stub.script(
        tool("Classification", intent="database", standalone_question=QUESTION, clarifying_question=""),
        raw(fenced_and_cut),
        text("Most customers are bronze."),
    )
    out: dict[str, Any] = await Chat(deps).ask(QUESTION)

    assert (out["answer"], out["source"], out["error"]) == ("Most customers are bronze.", "llm", None)
    assert out["result"]["columns"] == ["loyalty_tier", "customers"]
    assert out["result"]["rows"] == query(graph_settings, "acme_retail", TIERS_SQL)
    assert out["usage"]["calls"] == 3
    draft = stub.requests_for("SqlDraft")[0]
    assert draft["response_format"]["type"] == "json_schema"
    assert "tools" not in draft
    assert draft["model"] == "qwen2.5-coder-1.5b"


async def test_an_answer_that_never_parses_is_asked_once_more_then_a_clear_turn_error(
    deps: Deps, stub: StubOpenAI
) -> None:
    stub.script(
        tool("Classification", intent="database", standalone_question=QUESTION, clarifying_question=""),
        raw("SELECT loyalty_tier FROM customers"),
        raw('{"query": "SELECT 1"}'),
    )
    out: dict[str, Any] = await Chat(deps, thread="never-parses").ask(QUESTION)

    assert out["error"]["code"] == "llm_output_invalid"
    assert "sql: Field required" in out["error"]["detail"]
    assert out["answer"]
    retry = stub.requests_for("SqlDraft")[1]
    assert "Your answer was not the JSON object asked for" in retry["messages"][-1]["content"]
    assert stub.pending == 0


async def test_json_mode_asks_for_a_json_object_and_shows_the_schema_in_the_system_message(
    stub: StubOpenAI,
) -> None:
    settings = Settings(
        llm_provider="openai_compatible", llm_base_url=stub.url, llm_model="m", llm_structured="json_mode"
    )
    llm = make_llm(settings)
    assert llm is not None
    stub.script(raw('Sure! {"sql": "SELECT 1", "confidence": 0.7, "explanation": "one"} Enjoy.'))
    draft, usage = await llm.structured(
        SqlDraft, [SystemMessage("Write SQL."), HumanMessage("q")], business_id="b"
    )

    assert (draft.sql, usage.calls) == ("SELECT 1", 1)
    (request,) = stub.requests
    assert request["response_format"] == {"type": "json_object"}
    assert "tools" not in request
    system = request["messages"][0]
    assert (
        system["role"] == "system" and '"sql":{"description":"One PostgreSQL statement."' in system["content"]
    )


async def test_json_object_schema_sends_the_schema_inside_a_json_object_as_llama_cpp_servers_take_it(
    stub: StubOpenAI,
) -> None:
    settings = Settings(
        llm_provider="openai_compatible",
        llm_base_url=stub.url,
        llm_model="m",
        llm_structured="json_object_schema",
    )
    llm = make_llm(settings)
    assert llm is not None
    stub.script(raw('{"sql": "SELECT 1", "confidence": 0.7, "explanation": "one"}'))
    draft, _ = await llm.structured(
        SqlDraft, [SystemMessage("Write SQL."), HumanMessage("q")], business_id="b"
    )

    assert draft.sql == "SELECT 1"
    (request,) = stub.requests
    assert request["response_format"] == {"type": "json_object", "schema": SqlDraft.model_json_schema()}
    assert "tools" not in request
    assert request["max_tokens"] == settings.llm_max_tokens, "as llama-cpp-python reads the limit"
