"""A planned turn on the acme_retail database, with ChatMistralAI talking to the stub: three steps, the
first two at once, the third built from the first one's ids, every step's rows checked against the
database, and a follow-up that refers to a step."""

from __future__ import annotations

import pytest

from bizsql.config import Settings
from tests.integration.graph.conftest import Chat, query
from tests.support.plan_script import (
    QUESTION,
    STAFF,
    STAFF_OF_TOP,
    STAFF_SQL,
    TOP_STORES,
    TOP_STORES_SQL,
    planned,
    question_of,
    staff_of,
)  # fmt: skip
from tests.support.stub_mistral import StubMistral, text, tool

pytestmark = pytest.mark.integration


async def test_a_three_step_plan_builds_its_third_step_from_the_first_ones_ids(
    chat: Chat, stub: StubMistral, graph_settings: Settings
) -> None:
    stub.script(*planned())
    out = await chat.ask(QUESTION)

    top = query(graph_settings, "acme_retail", TOP_STORES_SQL)
    ids = [row[0] for row in top]
    assert len(ids) == 3
    steps = out["steps"]
    assert [s["question"] for s in steps] == [TOP_STORES, STAFF, STAFF_OF_TOP]
    assert steps[0]["result"]["rows"] == top
    assert steps[1]["result"]["rows"] == query(graph_settings, "acme_retail", STAFF_SQL)
    assert steps[2]["sql"] == staff_of(ids), "the third step's literals are step 1's ids"
    assert steps[2]["result"]["rows"] == query(graph_settings, "acme_retail", staff_of(sorted(ids)))
    assert all(s["error"] is None for s in steps)
    assert (out["sql"], out["result"]["rows"]) == (steps[2]["sql"], steps[2]["result"]["rows"])
    assert out["answer"] == "The three biggest stores have between 10 and 20 staff each."
    assert out["usage"]["calls"] == 6
    combine_prompt = stub.requests[-1]["messages"][1]["content"]
    assert all(f"Step {n}: " in combine_prompt for n in (1, 2, 3)), "the answer sees every step"
    staff_request = next(r for r in stub.requests_for("SqlDraft") if question_of(r) == STAFF_OF_TOP)
    assert "Step 2:" not in staff_request["messages"][0]["content"], "a step sees only the steps it uses"
    assert chat.deps.executor.calls[-1] == staff_of(ids)


async def test_a_follow_up_can_build_on_any_step(chat: Chat, stub: StubMistral) -> None:
    stub.script(*planned())
    await chat.ask(QUESTION)
    follow_up = "and the staff of the second one only?"
    stub.script(
        tool("Classification", intent="database", standalone_question="Staff of the second store"),
        tool("SqlDraft", sql=STAFF_SQL, confidence=0.5, explanation="x"),
        text("It has some staff."),
    )
    await chat.ask(follow_up)
    classify = stub.requests_for("Classification")[-1]["messages"][1]["content"]
    assert f"(step 1, {TOP_STORES}: {TOP_STORES_SQL})" in classify, "each step's SQL is in the history"
    assert f"(step 3, {STAFF_OF_TOP}: SELECT e.store_id" in classify
