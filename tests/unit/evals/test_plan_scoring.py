"""Scoring a multi-step question: per step in plan order, the plan's shape, the whole in any order, and
the final step; and a golden plan's steps may only use earlier ones."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from bizsql.evals.golden import GoldenPlan
from bizsql.evals.plan_report import summarize_plans
from bizsql.evals.plans import GoldStepRecord, PlanRecord, plan_outcome

PLAN = GoldenPlan.model_validate(
    {
        "id": "p1",
        "question": "Which 2 stores sold most, and their staff?",
        "steps": [
            {
                "question": "Top 2 stores",
                "sql": "SELECT id FROM stores ORDER BY id LIMIT 2",
                "tables": ["stores"],
            },
            {
                "question": "Staff of step 1",
                "sql": "SELECT 10 AS staff",
                "tables": ["employees"],
                "uses": [1],
            },
        ],
    }
)
GOLD = [[[1], [2]], [[10]]]


def step(index: int, rows: list[list[Any]] | None, error: dict[str, str] | None = None) -> dict[str, Any]:
    result = None if rows is None else {"columns": ["x"], "rows": rows, "row_count": len(rows)}
    return {"index": index, "question": f"q{index}", "sql": "SELECT 1", "result": result, "error": error}


def planned_out(*steps: dict[str, Any], uses: list[list[int]] | None = None) -> dict[str, Any]:
    uses = uses if uses is not None else [[], [0]][: len(steps)]
    plan = [{"question": s["question"], "uses": u} for s, u in zip(steps, uses, strict=True)]
    return {"intent": "database", "plan": plan, "steps": list(steps), "error": None}


def test_a_plan_whose_steps_all_match_scores_every_step_and_the_whole() -> None:
    out = plan_outcome(PLAN, planned_out(step(1, [[10]]), step(0, [[1], [2]])), GOLD)
    assert out.step_ex == [True, True], "steps are taken in plan order, whatever order they finished in"
    assert (out.planned, out.step_count_ok, out.uses_ok, out.whole, out.final_ex) == (True,) * 5
    assert [s.uses for s in out.steps] == [[], [1]], "uses are shown 1-based, as in the golden file"


def test_a_wrong_first_step_fails_its_step_and_the_whole_but_not_the_final_step() -> None:
    out = plan_outcome(PLAN, planned_out(step(0, [[7]]), step(1, [[10]])), GOLD)
    assert out.step_ex == [False, True]
    assert (out.whole, out.final_ex) == (False, True)


def test_steps_in_another_order_fail_per_step_but_still_answer_the_whole() -> None:
    out = plan_outcome(PLAN, planned_out(step(0, [[10]]), step(1, [[1], [2]]), uses=[[], []]), GOLD)
    assert out.step_ex == [False, False]
    assert (out.whole, out.final_ex, out.uses_ok, out.step_count_ok) == (True, False, False, True)


def test_a_failed_step_fails_the_whole_even_when_an_extra_step_had_the_rows() -> None:
    failed = planned_out(
        step(0, [[1], [2]]), step(1, [[10]]), step(2, None, {"code": "query_failed", "detail": "boom"}),
        uses=[[], [0], []],
    )  # fmt: skip
    out = plan_outcome(PLAN, failed, GOLD)
    assert out.step_ex == [True, True]
    assert (out.whole, out.final_ex, out.step_count_ok) == (False, False, False)
    assert out.steps[2].error == "query_failed: boom" and out.steps[2].ex is None


def test_a_one_step_answer_is_scored_as_a_plan_of_that_step() -> None:
    one = {
        "intent": "database",
        "sql": "SELECT 10",
        "result": {"rows": [[10]], "row_count": 1},
        "error": None,
    }
    out = plan_outcome(PLAN, one, GOLD)
    assert (out.planned, out.step_count_ok, out.uses_ok, out.whole) == (False, False, False, False)
    assert out.step_ex == [False, False] and out.final_ex, "its one result is the final answer"


def test_a_general_answer_has_no_steps_and_scores_nothing() -> None:
    out = plan_outcome(PLAN, {"intent": "general", "answer": "hi"}, GOLD)
    assert out.steps == [] and not any((out.final_ex, out.whole, *out.step_ex))


def test_the_summary_counts_gold_steps_and_shares() -> None:
    good = plan_outcome(PLAN, planned_out(step(0, [[1], [2]]), step(1, [[10]])), GOLD)
    bad = plan_outcome(PLAN, planned_out(step(0, [[1], [2]]), step(1, [[11]])), GOLD)
    gold_steps = [GoldStepRecord(question="s", uses=[], row_count=1)] * 2
    records = [
        PlanRecord(
            business="b", plan_id=f"p{i}", question="q", difficulty="hard", gold_steps=gold_steps, bizsql=o
        )
        for i, o in enumerate((good, bad))
    ]
    (row,) = summarize_plans(records)
    assert (row.plans, row.gold_steps, row.step_ex, row.whole, row.final_ex) == (2, 4, 0.75, 0.5, 0.5)
    assert row.baseline is None and row.prompt_token_ratio is None


def test_a_step_may_use_only_earlier_steps() -> None:
    raw = PLAN.model_dump()
    raw["steps"][0]["uses"] = [2]
    with pytest.raises(ValidationError, match="may use only earlier steps"):
        GoldenPlan.model_validate(raw)


def test_a_plan_needs_two_steps() -> None:
    raw = PLAN.model_dump()
    raw["steps"] = raw["steps"][:1]
    with pytest.raises(ValidationError):
        GoldenPlan.model_validate(raw)
