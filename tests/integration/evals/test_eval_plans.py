"""`bizsql eval --kind plans` end to end: every multi-step golden question of the three businesses through
the real graph and the baseline, against the stub scripted to get known steps wrong and to leave known
plans unplanned, so every score must come out exactly as scripted; and docs/quality.md's sample of the
report is this run's.

After a change that alters the figures: ``BIZSQL_WRITE_DOC_SAMPLES=1 pytest`` this file, and review the diff.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from bizsql.config import Settings
from bizsql.evals.golden import GoldenPlan, available_businesses, load_golden
from bizsql.evals.plan_report import PLAN_COLUMNS
from tests.integration.evals.conftest import run_eval
from tests.support.eval_stub import GoldenScript, GoldenStub

pytestmark = pytest.mark.integration

BUSINESSES = available_businesses()
DOC = Path(__file__).resolve().parents[3] / "docs" / "quality.md"
SAMPLE = re.compile(r"(<!-- sample: eval-plans -->\n)(.*?)(<!-- /sample -->)", re.S)
TIMED = PLAN_COLUMNS.index("s/q")
TOKENS = next(i for i, c in enumerate(PLAN_COLUMNS) if "tokens" in c)
"""Prompt tokens vary by a few with the database's table statistics, which the schema prompt shows."""


@pytest.fixture(scope="module")
def script() -> GoldenScript:
    goldens = {b: load_golden(b) for b in BUSINESSES}
    return GoldenScript(goldens, wrong_every=3, wrong_step_every=4, unplanned_every=6)


@pytest.fixture(scope="module")
def report(seeded: Settings, stub: GoldenStub, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_eval(seeded, stub, tmp_path_factory.mktemp("eval-plans"), "--kind", "plans")


def plans_of(business: str | None = None) -> list[tuple[str, GoldenPlan]]:
    return [(b, p) for b in BUSINESSES if business in (None, b) for p in load_golden(b).plans]


def expected(script: GoldenScript, plan: GoldenPlan) -> dict[str, Any]:
    """The scores the script makes: a plan gets each gold step's SQL except the wrong ones; an unplanned
    one is answered in one statement, which matches no gold step but may be the final answer."""
    if script.unplanned(plan):
        final = not script.wrong_statement(plan)
        return {"planned": False, "step_ex": [False] * len(plan.steps), "step_count_ok": False,
                "uses_ok": False, "whole": False, "final_ex": final, "calls": 3}  # fmt: skip
    right = [not script.wrong_step(plan, i) for i in range(len(plan.steps))]
    return {"planned": True, "step_ex": right, "step_count_ok": True, "uses_ok": True, "whole": all(right),
            "final_ex": right[-1], "calls": len(plan.steps) + 3}  # fmt: skip


def test_the_script_mixes_right_and_wrong_steps_and_plans(script: GoldenScript) -> None:
    plans = [p for _, p in plans_of()]
    assert len(plans) >= 24
    wrong_steps = sum(script.wrong_step(p, i) for p in plans for i in range(len(p.steps)))
    assert 0 < wrong_steps < sum(len(p.steps) for p in plans)
    assert 0 < sum(script.unplanned(p) for p in plans) < len(plans)
    assert 0 < sum(script.wrong_statement(p) for p in plans) < len(plans)


def test_each_plan_is_scored_step_by_step_and_whole_as_scripted(
    report: dict[str, Any], script: GoldenScript
) -> None:
    assert report["items"] == [], "--kind plans asks no single questions"
    by_id = {(r["business"], r["plan_id"]): r for r in report["plans"]}
    assert sorted(by_id) == sorted((b, p.id) for b, p in plans_of())
    for business, plan in plans_of():
        record = by_id[(business, plan.id)]
        ours = record["bizsql"]
        want = expected(script, plan)
        got = {k: ours[k] for k in want}
        assert got == want, plan.id
        assert ours["error"] is None, plan.id
        assert all(s["row_count"] > 0 for s in record["gold_steps"])
        assert [s["uses"] for s in record["gold_steps"]] == [s.uses for s in plan.steps]
        assert record["baseline"]["ex"] is not script.wrong_statement(plan), plan.id
        assert record["baseline"]["calls"] == 1 and record["baseline"]["prompt_tokens"] > 0
        if want["planned"]:
            assert [s["question"] for s in ours["steps"]] == [s.question for s in plan.steps]


def test_the_summary_shares_are_the_scripted_ones_per_business(
    report: dict[str, Any], script: GoldenScript
) -> None:
    rows = {r["business"]: r for r in report["plan_summary"]}
    assert list(rows) == [*BUSINESSES, "all"]
    for business in [*BUSINESSES, None]:
        plans = [p for _, p in plans_of(business)]
        wants = [expected(script, p) for p in plans]
        row = rows[business or "all"]
        assert row["plans"] == len(plans)
        assert row["gold_steps"] == sum(len(p.steps) for p in plans)
        step_hits = [hit for w in wants for hit in w["step_ex"]]
        assert row["step_ex"] == pytest.approx(sum(step_hits) / len(step_hits))
        for key in ("planned", "step_count_ok", "uses_ok", "whole", "final_ex"):
            assert row[key] == pytest.approx(sum(w[key] for w in wants) / len(wants)), (business, key)
        base = sum(not script.wrong_statement(p) for p in plans) / len(plans)
        assert row["baseline_final_ex"] == pytest.approx(base)
        assert row["bizsql"]["calls_per_question"] == pytest.approx(
            sum(w["calls"] for w in wants) / len(wants)
        )
        assert row["baseline"]["calls_per_question"] == 1
        assert row["bizsql"]["seconds_per_question"] > 0 and row["baseline"]["seconds_per_question"] > 0
    assert 0 < rows["all"]["whole"] < 1 and 0 < rows["all"]["step_ex"] < 1, "a score below 100% is shown"


def test_the_markdown_and_the_printed_table_show_every_plan_column(report: dict[str, Any]) -> None:
    markdown = report["_markdown"]
    assert "## Multi-step questions" in markdown
    assert "| " + " | ".join(PLAN_COLUMNS) + " |" in markdown
    overall = next(r for r in report["plan_summary"] if r["business"] == "all")
    assert f"| {100 * overall['whole']:.1f}% |" in markdown
    ours, theirs = overall["bizsql"], overall["baseline"]
    tokens = f"{ours['prompt_tokens_per_question']:,.0f} / {theirs['prompt_tokens_per_question']:,.0f}"
    assert tokens in markdown
    assert "multi-step questions" in report["_output"] and "step EX" in report["_output"]
    assert "| business | difficulty |" not in markdown, "no questions table when no question was asked"


def cells(table: str) -> list[list[str]]:
    """A Markdown table's rows as cells, without the seconds (they vary from run to run) and the tokens
    (compared apart, by ``tokens``)."""
    rows = [line.strip("| ").split(" | ") for line in table.splitlines() if line.startswith("| ")]
    return [[c for i, c in enumerate(row) if i not in (TIMED, TOKENS)] for row in rows]


def tokens(table: str) -> list[float]:
    """Every figure of the tokens column ("4,452 / 3,604" is two), in order."""
    rows = [line.strip("| ").split(" | ") for line in table.splitlines() if line.startswith("| ")]
    return [float(n.replace(",", "")) for row in rows[2:] for n in row[TOKENS].split(" / ")]


def test_the_docs_show_this_runs_plan_table(report: dict[str, Any]) -> None:
    section = report["_markdown"].split("## Multi-step questions", 1)[1]
    ran = "\n".join(line for line in section.splitlines() if line.startswith("|"))
    doc = DOC.read_text()
    found = SAMPLE.search(doc)
    assert found, "docs/quality.md has no eval-plans sample block"
    if os.environ.get("BIZSQL_WRITE_DOC_SAMPLES"):
        DOC.write_text(doc[: found.start(2)] + ran + "\n" + doc[found.end(2) :])
        return
    assert cells(found.group(2)) == cells(ran), "rerun with BIZSQL_WRITE_DOC_SAMPLES=1 and review the diff"
    assert tokens(found.group(2)) == pytest.approx(tokens(ran), rel=0.01), "the prompts changed size"
