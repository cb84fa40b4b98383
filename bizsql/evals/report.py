"""Summaries of an eval run: by business and difficulty, bizsql beside the baseline; JSON, Markdown, rich.

Accuracy and cost figures average over *database* questions (the ones both systems answer with SQL), so
the two columns of a pair always cover the same questions; classification accuracy covers every question,
including the general and clarify ones. Multi-step questions have a table of their own
(``plan_report.py``). See docs/quality.md for what each column means.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from rich.table import Table

from bizsql.evals.golden import DIFFICULTIES
from bizsql.evals.plan_report import PlanSummary, plan_markdown, plan_table, summarize_plans
from bizsql.evals.plans import PlanRecord
from bizsql.evals.records import Outcome, RunMeta, TurnRecord

ALL = "all"
RATIO_NOTE = "all calls; SQL-writing prompt only"


class Metrics(BaseModel):
    """One system over one group of questions."""

    questions: int
    database_questions: int
    ex: float | None
    classification_accuracy: float | None
    recall_at_5: float | None
    verified_hits: int
    calls_per_question: float | None
    prompt_tokens_per_question: float | None
    sql_prompt_tokens_per_question: float | None
    completion_tokens_per_question: float | None
    latency_ms_mean: float | None
    latency_ms_p50: float | None


class GroupSummary(BaseModel):
    business: str
    difficulty: str
    bizsql: Metrics
    baseline: Metrics | None


class EvalReport(BaseModel):
    meta: RunMeta
    summary: list[GroupSummary]
    prompt_token_ratio: dict[str, float | None]
    """bizsql's prompt tokens per database question divided by the baseline's, per business and overall."""
    sql_prompt_token_ratio: dict[str, float | None]
    """The same for the SQL-writing prompt alone (bizsql's generate_sql requests, the baseline's one)."""
    items: list[TurnRecord]
    plan_summary: list[PlanSummary] = []
    plans: list[PlanRecord] = []


def _mean(values: Iterable[float]) -> float | None:
    found = list(values)
    return statistics.fmean(found) if found else None


def metrics(records: Sequence[TurnRecord], pick: Callable[[TurnRecord], Outcome | None]) -> Metrics:
    """The figures of one system (``pick`` chooses bizsql's or the baseline's outcome) over ``records``."""
    outcomes = [(r, o) for r in records if (o := pick(r)) is not None]
    database = [o for r, o in outcomes if r.expected_intent == "database"]
    latencies = [o.latency_ms for o in database]
    return Metrics(
        questions=len(outcomes),
        database_questions=len(database),
        ex=_mean(float(bool(o.ex)) for o in database),
        classification_accuracy=_mean(float(o.intent_ok) for _, o in outcomes if o.intent_ok is not None),
        recall_at_5=_mean(o.recall_at_5 for o in database if o.recall_at_5 is not None),
        verified_hits=sum(1 for o in database if o.verified),
        calls_per_question=_mean(o.calls for o in database),
        prompt_tokens_per_question=_mean(o.prompt_tokens for o in database),
        sql_prompt_tokens_per_question=_mean(o.sql_prompt_tokens for o in database),
        completion_tokens_per_question=_mean(o.completion_tokens for o in database),
        latency_ms_mean=_mean(latencies),
        latency_ms_p50=statistics.median(latencies) if latencies else None,
    )


def _group(business: str, difficulty: str, records: Sequence[TurnRecord]) -> GroupSummary:
    with_baseline = any(r.baseline is not None for r in records)
    return GroupSummary(
        business=business,
        difficulty=difficulty,
        bizsql=metrics(records, lambda r: r.bizsql),
        baseline=metrics(records, lambda r: r.baseline) if with_baseline else None,
    )


def summarize(records: Sequence[TurnRecord]) -> list[GroupSummary]:
    """Per business (and overall): one row per difficulty, one for non-database messages, one for all."""
    groups = []
    businesses = sorted({r.business for r in records})
    for business in [*businesses, ALL] if len(businesses) > 1 else businesses:
        mine = [r for r in records if business in (ALL, r.business)]
        for difficulty in DIFFICULTIES:
            chosen = [r for r in mine if r.expected_intent == "database" and r.difficulty == difficulty]
            if chosen:
                groups.append(_group(business, difficulty, chosen))
        other = [r for r in mine if r.expected_intent != "database"]
        if other:
            groups.append(_group(business, "non-database", other))
        groups.append(_group(business, ALL, mine))
    return groups


def token_ratios(
    summary: Sequence[GroupSummary], field: str = "prompt_tokens_per_question"
) -> dict[str, float | None]:
    """bizsql ÷ baseline of one per-question figure, for each business's "all" row (and the overall one)."""
    ratios: dict[str, float | None] = {}
    for group in summary:
        if group.difficulty != ALL or group.baseline is None:
            continue
        ours, theirs = getattr(group.bizsql, field), getattr(group.baseline, field)
        ratios[group.business] = ours / theirs if ours is not None and theirs else None
    return ratios


def build_report(
    meta: RunMeta, records: Sequence[TurnRecord], plans: Sequence[PlanRecord] = ()
) -> EvalReport:
    summary = summarize(records)
    return EvalReport(
        meta=meta,
        summary=summary,
        prompt_token_ratio=token_ratios(summary),
        sql_prompt_token_ratio=token_ratios(summary, "sql_prompt_tokens_per_question"),
        items=list(records),
        plan_summary=summarize_plans(plans),
        plans=list(plans),
    )


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _pair(ours: str, theirs: str | None) -> str:
    return ours if theirs is None else f"{ours} / {theirs}"


COLUMNS = (
    "business", "difficulty", "questions", "EX bizsql / baseline", "classification", "recall@5",
    "verified hits", "LLM calls/q", "prompt tokens/q", "completion tokens/q", "latency p50 ms",
)  # fmt: skip


def _pair_of(ours: Metrics, base: Metrics | None, field: str, fmt: Callable[[Any], str]) -> str:
    return _pair(fmt(getattr(ours, field)), fmt(getattr(base, field)) if base else None)


def rows(summary: Sequence[GroupSummary]) -> list[list[str]]:
    """The summary as table cells; each pair is bizsql / baseline (baseline omitted when it did not run)."""
    table = []
    for g in summary:
        ours, base = g.bizsql, g.baseline
        table.append(
            [
                g.business,
                g.difficulty,
                str(ours.questions),
                _pair_of(ours, base, "ex", _pct) if ours.database_questions else "–",
                _pct(ours.classification_accuracy),
                _pct(ours.recall_at_5),
                str(ours.verified_hits),
                _pair_of(ours, base, "calls_per_question", lambda v: _num(v, 2)),
                _pair_of(ours, base, "prompt_tokens_per_question", _num),
                _pair_of(ours, base, "completion_tokens_per_question", _num),
                _pair_of(ours, base, "latency_ms_p50", _num),
            ]
        )
    return table


def rich_tables(report: EvalReport) -> list[Table]:
    """The questions' table and the multi-step questions' one, each when the run asked such items."""
    title = f"bizsql eval {report.meta.run_id} ({report.meta.model})"
    tables = []
    if report.summary:
        table = Table(*COLUMNS, title=title)
        for cells in rows(report.summary):
            table.add_row(*cells, end_section=cells[1] == ALL)
        tables.append(table)
    if report.plan_summary:
        tables.append(plan_table(report.plan_summary, f"{title}: multi-step questions"))
    return tables


def markdown(report: EvalReport) -> str:
    meta = report.meta
    lines = [
        f"# bizsql eval {meta.run_id}",
        "",
        f"- model: `{meta.model}` at `{meta.llm_endpoint}`",
        f"- started: {meta.started_at.isoformat(timespec='seconds')}; "
        f"businesses: {', '.join(meta.businesses)}"
        + (f"; limit: {meta.limit} threads per business" if meta.limit else "")
        + (f"; {meta.split} threads only" if meta.split != "all" else ""),
        f"- prompt tokens counted with: {meta.token_counter}",
        "- pairs read `bizsql / baseline` (baseline: whole schema in one prompt, no retrieval, "
        "no verified examples, no retry)",
    ]
    if report.summary:
        lines += ["", "| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---" for _ in COLUMNS) + "|"]
        lines += ["| " + " | ".join(cells) + " |" for cells in rows(report.summary)]
    if report.prompt_token_ratio:
        lines += ["", f"Prompt tokens per database question, bizsql ÷ baseline ({RATIO_NOTE}):", ""]
        lines += [
            f"- {b}: {_num(r, 2)}; {_num(report.sql_prompt_token_ratio.get(b), 2)}"
            for b, r in report.prompt_token_ratio.items()
        ]
    lines += plan_markdown(report.plan_summary)
    return "\n".join(lines) + "\n"


def write_reports(report: EvalReport, directory: Path) -> tuple[Path, Path]:
    """``<dir>/eval-<timestamp>-<run id>.json`` and ``.md``; returns both paths."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"eval-{report.meta.started_at.strftime('%Y%m%dT%H%M%SZ')}-{report.meta.run_id}"
    json_path, md_path = directory / f"{stem}.json", directory / f"{stem}.md"
    json_path.write_text(json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n")
    md_path.write_text(markdown(report))
    return json_path, md_path
