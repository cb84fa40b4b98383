"""Scoring a multi-step question: each step against its gold step, the plan's shape, and the whole.

- **Step EX**: the graph's step *i* (in plan order) against gold step *i*, with the EX rule of
  ``scoring.py``; a step the graph did not write, or that failed, is wrong.
- **Shape**: did classify ask for a plan, does the plan have as many steps as the gold one, and does each
  step use the same earlier steps (``uses``)?
- **Whole**: every gold step's rows are among the graph's steps' results (each gold step matched by a
  different graph step, in any position), and no step failed: the person saw every table the answer needs.
  Steps that need nothing from each other may come in any order, and an extra step costs nothing but time.
- **Final EX**: the graph's last step against the gold last step; the one figure the one-statement baseline
  also has (its single result against the gold last step).

A question the graph answered in one step (no plan) is scored as a plan of that one step.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

from bizsql.evals.golden import GoldenPlan, GoldStep
from bizsql.evals.records import Cost, Outcome
from bizsql.evals.scoring import Row, execution_match


class StepOutcome(BaseModel):
    """One step the graph ran. ``ex`` compares it with the gold step at the same position (None past the
    gold's last step); ``uses`` are 1-based, as in the golden file."""

    question: str
    uses: list[int] = Field(default_factory=list)
    sql: str = ""
    error: str | None = None
    row_count: int | None = None
    ex: bool | None = None


class PlanOutcome(Cost):
    """What the graph did with one multi-step question, and what it cost."""

    intent: str | None = None
    planned: bool = False
    steps: list[StepOutcome] = Field(default_factory=list)
    step_ex: list[bool] = Field(default_factory=list)
    """Per gold step: the graph's step at its position returned its rows."""
    step_count_ok: bool = False
    uses_ok: bool = False
    whole: bool = False
    final_ex: bool = False
    error: str | None = None


class GoldStepRecord(BaseModel):
    question: str
    uses: list[int]
    row_count: int


class PlanRecord(BaseModel):
    business: str
    plan_id: str
    question: str
    difficulty: str
    gold_steps: list[GoldStepRecord]
    bizsql: PlanOutcome
    baseline: Outcome | None = None
    """The whole-schema baseline asked the whole question in one statement; ``ex`` is against the gold
    last step."""


def error_text(error: dict[str, Any] | None) -> str | None:
    return f"{error['code']}: {error['detail']}" if error else None


def graph_steps(out: dict[str, Any]) -> list[dict[str, Any]]:
    """The steps the graph ran, in plan order; a one-step database answer as a plan of one step."""
    steps = sorted(out.get("steps") or [], key=lambda s: s["index"])
    if steps or out.get("intent") != "database":
        return steps
    if not (out.get("sql") or out.get("result")):
        return []
    return [{"index": 0, "question": out.get("question", ""), "sql": out.get("sql") or "",
             "result": out.get("result"), "error": out.get("error")}]  # fmt: skip


def step_rows(step: dict[str, Any]) -> list[list[Any]] | None:
    result = step.get("result")
    return None if step.get("error") or result is None else result["rows"]


def answers(gold: GoldStep, rows: Sequence[Row], step: dict[str, Any]) -> bool:
    return execution_match(gold.sql, rows, step_rows(step))


def covers(plan: GoldenPlan, gold: Sequence[Sequence[Row]], steps: Sequence[dict[str, Any]]) -> bool:
    """Each gold step answered by a different graph step, in any order (plans have at most a few steps)."""
    if len(steps) < len(plan.steps):
        return False
    hits = [[answers(g, rows, s) for s in steps] for g, rows in zip(plan.steps, gold, strict=True)]
    return any(
        all(hits[g][s] for g, s in enumerate(chosen))
        for chosen in itertools.permutations(range(len(steps)), len(plan.steps))
    )


def plan_outcome(plan: GoldenPlan, out: dict[str, Any], gold: Sequence[Sequence[Row]]) -> PlanOutcome:
    """Score one graph turn on a multi-step question: the module docstring's rules."""
    steps = graph_steps(out)
    drafted = out.get("plan") or []
    pairs = enumerate(zip(plan.steps, gold, strict=True))
    step_ex = [i < len(steps) and answers(g, rows, steps[i]) for i, (g, rows) in pairs]
    gold_uses = [sorted(u - 1 for u in s.uses) for s in plan.steps]
    failed = any(s.get("error") for s in steps) or bool(out.get("error"))
    return PlanOutcome(
        intent=out.get("intent"),
        planned=bool(drafted),
        steps=[
            StepOutcome(
                question=s.get("question", ""),
                uses=[u + 1 for u in drafted[s["index"]]["uses"]] if s["index"] < len(drafted) else [],
                sql=s.get("sql") or "",
                error=error_text(s.get("error")),
                row_count=(s.get("result") or {}).get("row_count"),
                ex=step_ex[i] if i < len(step_ex) else None,
            )
            for i, s in enumerate(steps)
        ],
        step_ex=step_ex,
        step_count_ok=len(steps) == len(plan.steps),
        uses_ok=[sorted(s["uses"]) for s in drafted] == gold_uses,
        whole=not failed and covers(plan, gold, steps),
        final_ex=bool(steps) and answers(plan.final, gold[-1], steps[-1]),
        error=error_text(out.get("error")),
    )


def failed_outcome(error: str) -> PlanOutcome:
    """A turn that raised: every score is wrong, and the run goes on."""
    return PlanOutcome(error=error)
