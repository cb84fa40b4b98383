"""The multi-step questions' part of a report: scores per business, and the cost of a plan beside the
one-statement baseline's. See docs/quality.md ("Multi-step questions") for what each column means."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence

from pydantic import BaseModel
from rich.table import Table

from bizsql.evals.plans import PlanRecord

ALL = "all"
PLAN_COLUMNS = (
    "business", "plans", "gold steps", "planned", "step count", "uses", "step EX", "whole",
    "final EX bizsql / baseline", "LLM calls/q", "prompt tokens/q", "s/q",
)  # fmt: skip


class PlanCost(BaseModel):
    """What one system spent per multi-step question, on average."""

    calls_per_question: float | None
    prompt_tokens_per_question: float | None
    completion_tokens_per_question: float | None
    seconds_per_question: float | None


class PlanSummary(BaseModel):
    business: str
    plans: int
    gold_steps: int
    planned: float | None
    step_count_ok: float | None
    uses_ok: float | None
    step_ex: float | None
    """Gold steps the graph's step at the same position answered, over all gold steps."""
    whole: float | None
    final_ex: float | None
    baseline_final_ex: float | None
    bizsql: PlanCost
    baseline: PlanCost | None
    prompt_token_ratio: float | None
    """bizsql's prompt tokens per multi-step question divided by the baseline's."""


def _share(values: Iterable[bool]) -> float | None:
    found = [float(v) for v in values]
    return statistics.fmean(found) if found else None


def _mean(values: Iterable[float]) -> float | None:
    found = list(values)
    return statistics.fmean(found) if found else None


def _cost(calls: list[int], prompt: list[int], completion: list[int], ms: list[float]) -> PlanCost:
    seconds = _mean(ms)
    return PlanCost(
        calls_per_question=_mean(calls),
        prompt_tokens_per_question=_mean(prompt),
        completion_tokens_per_question=_mean(completion),
        seconds_per_question=seconds / 1000 if seconds is not None else None,
    )


def plan_group(business: str, records: Sequence[PlanRecord]) -> PlanSummary:
    ours = [r.bizsql for r in records]
    theirs = [r.baseline for r in records if r.baseline is not None]
    base = (
        _cost([o.calls for o in theirs], [o.prompt_tokens for o in theirs],
              [o.completion_tokens for o in theirs], [o.latency_ms for o in theirs])
        if theirs else None
    )  # fmt: skip
    cost = _cost([o.calls for o in ours], [o.prompt_tokens for o in ours],
                 [o.completion_tokens for o in ours], [o.latency_ms for o in ours])  # fmt: skip
    mine, other = cost.prompt_tokens_per_question, base.prompt_tokens_per_question if base else None
    return PlanSummary(
        business=business,
        plans=len(records),
        gold_steps=sum(len(r.gold_steps) for r in records),
        planned=_share(o.planned for o in ours),
        step_count_ok=_share(o.step_count_ok for o in ours),
        uses_ok=_share(o.uses_ok for o in ours),
        step_ex=_share(hit for o, r in zip(ours, records, strict=True) for hit in _padded(o.step_ex, r)),
        whole=_share(o.whole for o in ours),
        final_ex=_share(o.final_ex for o in ours),
        baseline_final_ex=_share(bool(o.ex) for o in theirs) if theirs else None,
        bizsql=cost,
        baseline=base,
        prompt_token_ratio=mine / other if mine is not None and other else None,
    )


def _padded(step_ex: list[bool], record: PlanRecord) -> list[bool]:
    """One verdict per gold step (a turn that crashed has none: all wrong)."""
    return step_ex + [False] * (len(record.gold_steps) - len(step_ex))


def summarize_plans(records: Sequence[PlanRecord]) -> list[PlanSummary]:
    """One row per business, and one for all of them when there are several."""
    businesses = sorted({r.business for r in records})
    groups = [plan_group(b, [r for r in records if r.business == b]) for b in businesses]
    if len(businesses) > 1:
        groups.append(plan_group(ALL, records))
    return groups


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _pair(ours: PlanCost, theirs: PlanCost | None, field: str, fmt: Callable[[float | None], str]) -> str:
    mine = fmt(getattr(ours, field))
    return mine if theirs is None else f"{mine} / {fmt(getattr(theirs, field))}"


def plan_rows(summary: Sequence[PlanSummary]) -> list[list[str]]:
    """The summary as table cells; pairs are bizsql / baseline (baseline omitted when it did not run)."""
    table = []
    for g in summary:
        final = (
            _pct(g.final_ex) if g.baseline is None else f"{_pct(g.final_ex)} / {_pct(g.baseline_final_ex)}"
        )
        table.append(
            [
                g.business, str(g.plans), str(g.gold_steps), _pct(g.planned), _pct(g.step_count_ok),
                _pct(g.uses_ok), _pct(g.step_ex), _pct(g.whole), final,
                _pair(g.bizsql, g.baseline, "calls_per_question", lambda v: _num(v, 2)),
                _pair(g.bizsql, g.baseline, "prompt_tokens_per_question", _num),
                _pair(g.bizsql, g.baseline, "seconds_per_question", lambda v: _num(v, 2)),
            ]
        )  # fmt: skip
    return table


def plan_markdown(summary: Sequence[PlanSummary]) -> list[str]:
    if not summary:
        return []
    lines = [
        "",
        "## Multi-step questions",
        "",
        "Steps scored against the gold steps; `final EX` and the cost pairs read `bizsql / baseline` "
        "(baseline: the whole question in one statement, scored against the gold last step).",
        "",
        "| " + " | ".join(PLAN_COLUMNS) + " |",
        "|" + "|".join("---" for _ in PLAN_COLUMNS) + "|",
    ]
    return lines + ["| " + " | ".join(cells) + " |" for cells in plan_rows(summary)]


def plan_table(summary: Sequence[PlanSummary], title: str) -> Table:
    table = Table(*PLAN_COLUMNS, title=title)
    for cells in plan_rows(summary):
        table.add_row(*cells)
    return table
