"""Planned multi-step turns with scripted models, a fake executor and the real guard: the plan, steps
that use earlier results, parallel steps, a failed step, the budget, and the one-step path unchanged."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver

from bizsql.errors import QueryFailed
from bizsql.graph.builder import build_graph
from bizsql.graph.interfaces import Deps
from bizsql.sql.result import QueryResult
from tests.support.fake_llm import RoutedChatModel, ScriptedChatModel, text_answer, tool_answer
from tests.unit.graph.conftest import Harness, rows_result

QUESTION = "Which 2 states have the most customers, and what is the priciest product ordered in each?"
STEP_1 = "The 2 states with the most customers"
STEP_2 = "The priciest product ordered by customers of each state of step 1"
TOP_STATES = "SELECT state, count(*) AS n FROM customers GROUP BY state ORDER BY n DESC LIMIT 2"
PRICIEST = (
    "SELECT c.state, max(p.price) AS price FROM customers AS c JOIN orders AS o ON o.customer_id = c.id "
    "JOIN products AS p ON p.id = o.product_id WHERE c.state IN ('TX', 'CA') GROUP BY c.state"
)


def classified(question: str, needs_plan: bool = True) -> Any:
    return tool_answer(
        "Classification", intent="database", standalone_question=question, needs_plan=needs_plan
    )


def planned(*steps: tuple[str, list[int]]) -> Any:
    return tool_answer("PlanDraft", steps=[{"question": q, "uses": uses} for q, uses in steps])


def draft(sql: str) -> Any:
    return tool_answer("SqlDraft", sql=sql, confidence=0.9, explanation="a step")


def answering(table: dict[str, QueryResult]) -> Any:
    def answer(sql: str) -> QueryResult:
        for key, result in table.items():
            if key in sql:
                return result
        raise AssertionError(f"unexpected SQL {sql}")

    return answer


async def ask(graph: Any, harness: Harness, deps: Deps, question: str = QUESTION) -> dict[str, Any]:
    config = {"configurable": {"thread_id": "t1"}}
    return dict(
        await graph.ainvoke({"messages": [HumanMessage(question)]}, config, context=harness.context(deps))
    )


@pytest.fixture
def graph() -> Any:
    return build_graph(InMemorySaver())


async def test_a_later_step_uses_the_earlier_steps_rows_as_literals(graph: Any, harness: Harness) -> None:
    harness.executor.answer = answering(
        {
            "LIMIT 2": rows_result(["state", "n"], [["TX", 3], ["CA", 2]], 2),
            "max(p.price)": rows_result(["state", "price"], [["TX", 99.5], ["CA", 42.0]], 2),
        }
    )
    llm = ScriptedChatModel.of(
        classified(QUESTION),
        planned((STEP_1, []), (STEP_2, [1])),
        draft(TOP_STATES),
        draft(PRICIEST),
        text_answer("TX and CA lead; their priciest orders are 99.50 and 42.00."),
    )
    out = await ask(graph, harness, harness.deps(llm))

    assert [sql for sql, _ in harness.executor.ran] == [TOP_STATES, PRICIEST]
    assert [s["question"] for s in out["steps"]] == [STEP_1, STEP_2]
    assert [s["result"]["rows"] for s in out["steps"]] == [
        [["TX", 3], ["CA", 2]],
        [["TX", 99.5], ["CA", 42.0]],
    ]
    step_2_prompt = llm.prompt_text(3)
    assert "Step 1: " + STEP_1 in step_2_prompt and "TX | 3" in step_2_prompt, "step 1's rows reach step 2"
    assert "Step 1" not in llm.prompt_text(2), "step 1 is told of no earlier step"
    assert out["answer"].startswith("TX and CA lead")
    assert (out["sql"], out["result"]["rows"]) == (PRICIEST, [["TX", 99.5], ["CA", 42.0]]), "the last step"
    assert out["usage"]["calls"] == 5
    assert out["error"] is None
    meta = out["messages"][-1].additional_kwargs["bizsql"]
    assert [s["sql"] for s in meta["steps"]] == [TOP_STATES, PRICIEST], "every step's SQL is in the thread"


async def test_a_step_that_fails_after_its_retries_ends_the_plan_with_what_was_done(
    graph: Any, harness: Harness
) -> None:
    def answer(sql: str) -> QueryResult:
        if "totl" in sql:
            raise QueryFailed('column "totl" does not exist')
        return rows_result(["state", "n"], [["TX", 3]], 1)

    harness.executor.answer = answer
    bad = "SELECT state, sum(totl) FROM orders GROUP BY state"
    llm = ScriptedChatModel.of(
        classified(QUESTION),
        planned((STEP_1, []), ("Revenue per state of step 1", [1]), ("Something after", [2])),
        draft(TOP_STATES),
        draft(bad),
        draft(bad),
        text_answer("TX has the most customers."),
    )
    out = await ask(graph, harness, harness.deps(llm, max_sql_retries=1))

    assert [s["index"] for s in out["steps"]] == [0, 1], "step 3 never ran"
    assert out["steps"][1]["error"]["code"] == "query_failed"
    assert out["error"]["code"] == "query_failed" and out["error"]["detail"].startswith("step 2:")
    assert out["answer"].startswith("TX has the most customers.")
    assert "Step 2 (“Revenue per state of step 1”) failed" in out["answer"]
    assert 'column "totl" does not exist' in out["answer"]
    assert "The 1 step(s) after it did not run." in out["answer"]
    assert (out["sql"], out["result"]["rows"]) == (TOP_STATES, [["TX", 3]]), "step 1's answer stands"


async def test_independent_steps_run_at_the_same_time(graph: Any, harness: Harness) -> None:
    harness.executor.answer = lambda sql: rows_result(["n"], [[1]], 1)
    llm = RoutedChatModel.routed(
        ("Latest message", classified(QUESTION)),
        ("Split the question", planned(("Customers in TX", []), ("Customers in CA", []))),
        ("Question: Customers in TX", draft("SELECT count(*) AS n FROM customers WHERE state = 'TX'")),
        ("Question: Customers in CA", draft("SELECT count(*) AS n FROM customers WHERE state = 'CA'")),
        ("several steps", text_answer("One each.")),
        delay_s=0.3,
    )
    out = await ask(graph, harness, harness.deps(llm))

    assert [s["question"] for s in out["steps"]] == ["Customers in TX", "Customers in CA"]
    (_, start_tx, end_tx), (_, start_ca, end_ca) = sorted(
        c for c in llm.calls if c[0].startswith("Question: Customers")
    )
    assert start_tx < end_ca and start_ca < end_tx, "the two steps' SQL calls overlap in time"


async def test_a_one_step_question_makes_as_many_calls_as_before(graph: Any, harness: Harness) -> None:
    harness.executor.answer = lambda sql: rows_result(["state", "n"], [["TX", 3], ["CA", 2]], 2)
    llm = ScriptedChatModel.of(
        classified("Customers per state?", needs_plan=False), draft(TOP_STATES), text_answer("TX.")
    )
    out = await ask(graph, harness, harness.deps(llm), "Customers per state?")
    assert out["usage"]["calls"] == 3 and len(llm.prompts) == 3
    assert out["steps"] == [] and out["plan"] == []


class TightBudget:
    def __init__(self, left: int) -> None:
        self.left = left

    async def check(self, business_id: str) -> None:
        return None

    async def record(self, business_id: str, usage: Any) -> None:
        self.left -= usage.total_tokens

    async def remaining(self, business_id: str) -> int | None:
        return self.left


async def test_a_plan_the_budget_cannot_pay_for_is_refused_before_any_step(
    graph: Any, harness: Harness
) -> None:
    llm = ScriptedChatModel.of(classified(QUESTION))
    deps = harness.deps(llm, plan_step_tokens=1000)
    assert deps.llm is not None
    deps.llm.budget = TightBudget(2500)  # a 2-step plan (and its answer) needs 3,000
    out = await ask(graph, harness, deps)

    assert len(llm.prompts) == 1, "only the classification: no plan or step call"
    assert harness.executor.ran == []
    assert out["intent"] == "unavailable" and out["error"]["code"] == "rate_limited"
    assert "needs 2 separate queries (about 3,000 AI tokens)" in out["answer"]
    assert "has only 2,380 tokens left" in out["answer"]


async def test_a_longer_plan_than_the_budget_allows_is_refused_after_the_plan(
    graph: Any, harness: Harness
) -> None:
    llm = ScriptedChatModel.of(classified(QUESTION), planned(("a", []), ("b", []), ("c", []), ("d", [])))
    deps = harness.deps(llm, plan_step_tokens=1000)
    assert deps.llm is not None
    deps.llm.budget = TightBudget(4200)
    out = await ask(graph, harness, deps)
    assert harness.executor.ran == [] and len(llm.prompts) == 2
    assert "needs 4 separate queries (about 5,000 AI tokens)" in out["answer"]


async def test_in_privacy_mode_a_later_step_sees_the_earlier_sql_but_no_row_values(
    graph: Any, harness: Harness
) -> None:
    from tests.unit.graph.conftest import shop_business

    harness.configs.configs["shop"] = shop_business(privacy_mode=True)
    harness.executor.answer = answering(
        {
            "LIMIT 2": rows_result(["state", "n"], [["TX", 3], ["CA", 2]], 2),
            "max(p.price)": rows_result(["state", "price"], [["TX", 99.5], ["CA", 42.0]], 2),
        }
    )
    llm = ScriptedChatModel.of(
        classified(QUESTION), planned((STEP_1, []), (STEP_2, [1])), draft(TOP_STATES), draft(PRICIEST),
        text_answer("Two states."),
    )  # fmt: skip
    await ask(graph, harness, harness.deps(llm))
    step_2_prompt, answer_prompt = llm.prompt_text(3), llm.prompt_text(4)
    assert TOP_STATES in step_2_prompt and "(2 rows; columns state, n)" in step_2_prompt
    assert "TX" not in step_2_prompt and "99.5" not in answer_prompt, "no row value reaches the LLM"
