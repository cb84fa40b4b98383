"""A turn the daily token budget refuses still ends as a whole turn: the question and an answer saying why."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver

from bizsql.errors import RateLimited
from bizsql.graph.builder import build_graph
from bizsql.graph.interfaces import Deps
from bizsql.nodes.answers import META_KEY
from tests.support.fake_llm import ScriptedChatModel, tool_answer
from tests.unit.graph.conftest import Harness

REFUSED = "Which supplier ships from Peru?"
RESETS_IN_S = 5 * 3600 + 7 * 60


class SpendableBudget:
    """A daily token budget a test can spend: ``calls_left`` LLM calls, then RateLimited until midnight."""

    def __init__(self, calls_left: int = 0) -> None:
        self.calls_left = calls_left

    async def check(self, business_id: str) -> None:
        if self.calls_left <= 0:
            raise RateLimited(f"business {business_id!r} has used its daily LLM budget", RESETS_IN_S)
        self.calls_left -= 1

    async def record(self, business_id: str, usage: Any) -> None:
        return None


def classified(question: str, intent: str = "database") -> Any:
    return tool_answer("Classification", intent=intent, standalone_question=question)


def with_budget(deps: Deps, budget: SpendableBudget) -> Deps:
    assert deps.llm is not None
    deps.llm.budget = budget
    return deps


async def ask(graph: Any, harness: Harness, deps: Deps, question: str, thread: str = "t1") -> dict[str, Any]:
    config = {"configurable": {"thread_id": thread}}
    out = await graph.ainvoke(
        {"messages": [HumanMessage(question)]}, config=config, context=harness.context(deps)
    )
    return dict(out)


async def thread_messages(graph: Any, thread: str = "t1") -> list[Any]:
    state = await graph.aget_state({"configurable": {"thread_id": thread}})
    return list(state.values["messages"])


def assert_budget_answer(answer: str) -> None:
    assert "Today's AI budget for Shop is used up" in answer
    assert "midnight UTC (in about 5 h 7 min)" in answer
    assert "How many customers are there in each state?" in answer, "lists the verified questions"


@pytest.fixture
def graph() -> Any:
    return build_graph(InMemorySaver())


async def test_a_question_refused_by_the_budget_is_answered_and_the_next_turn_sees_both(
    graph: Any, harness: Harness
) -> None:
    budget = SpendableBudget(calls_left=0)
    llm = ScriptedChatModel.of()
    deps = with_budget(harness.deps(llm), budget)

    out = await ask(graph, harness, deps, REFUSED)

    assert out["intent"] == "unavailable" and out["error"]["code"] == "rate_limited"
    assert_budget_answer(out["answer"])
    assert llm.prompts == [] and harness.executor.ran == []
    messages = await thread_messages(graph)
    assert [type(m) for m in messages] == [HumanMessage, AIMessage]
    assert messages[-1].content == out["answer"]
    logged = harness.log.turns[-1]
    assert (logged["user_message"], logged["assistant_message"]) == (REFUSED, out["answer"])
    assert logged["intent"] == messages[-1].additional_kwargs[META_KEY]["intent"] == "unavailable"

    budget.calls_left = 1
    llm.script = [classified("What are the top 10 products by price?", "clarify")]
    await ask(graph, harness, deps, "and the cheapest ones?")
    history = llm.prompt_text(0)
    assert f"User: {REFUSED}\nAssistant: Today's AI budget for Shop is used up" in history
    messages = await thread_messages(graph)
    assert [type(m) for m in messages] == [HumanMessage, AIMessage, HumanMessage, AIMessage]


async def test_a_budget_spent_before_the_sql_is_written_answers_without_a_dangling_question(
    graph: Any, harness: Harness
) -> None:
    llm = ScriptedChatModel.of(classified(REFUSED))
    deps = with_budget(harness.deps(llm), SpendableBudget(calls_left=1))

    out = await ask(graph, harness, deps, REFUSED)

    assert (out["intent"], out["error"]["code"], out["sql"]) == ("unavailable", "rate_limited", "")
    assert_budget_answer(out["answer"])
    assert harness.executor.ran == []
    last = (await thread_messages(graph))[-1]
    assert isinstance(last, AIMessage) and last.content == out["answer"]
    assert last.additional_kwargs[META_KEY]["intent"] == harness.log.turns[-1]["intent"] == "unavailable"


async def test_a_general_question_over_budget_gets_the_budget_answer(graph: Any, harness: Harness) -> None:
    llm = ScriptedChatModel.of(classified("hello, who are you?", "general"))
    deps = with_budget(harness.deps(llm), SpendableBudget(calls_left=1))

    out = await ask(graph, harness, deps, "hello, who are you?")

    assert (out["intent"], out["error"]["code"]) == ("unavailable", "rate_limited")
    assert_budget_answer(out["answer"])
    assert isinstance((await thread_messages(graph))[-1], AIMessage)
