"""Every golden question of the three demo businesses through `bizsql eval` against the scripted stub: the
run the evals issue asks the harness to show, with exact EX per business and the prompt-token goal."""

from __future__ import annotations

from typing import Any

import pytest

from bizsql.config import Settings
from bizsql.evals.golden import GoldenTurn, available_businesses, load_golden
from tests.integration.evals.conftest import run_eval
from tests.support.eval_stub import GoldenScript, GoldenStub

pytestmark = pytest.mark.integration

BUSINESSES = available_businesses()
TOKEN_GOAL = 0.5
"""bizsql's prompt tokens per database question, at most this share of the whole-schema baseline's on
acme_retail (all of bizsql's calls counted: classification, SQL, summary)."""


@pytest.fixture(scope="module")
def script() -> GoldenScript:
    return GoldenScript({b: load_golden(b) for b in BUSINESSES}, wrong_every=4, misclassify_every=3)


@pytest.fixture(scope="module")
def report(seeded: Settings, stub: GoldenStub, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_eval(seeded, stub, tmp_path_factory.mktemp("eval-full"))


def turns_of(business: str) -> list[GoldenTurn]:
    return list(load_golden(business).turns())


def row(report: dict[str, Any], business: str) -> dict[str, Any]:
    (found,) = [g for g in report["summary"] if g["business"] == business and g["difficulty"] == "all"]
    return found


def test_every_golden_question_of_every_business_is_asked(report: dict[str, Any]) -> None:
    asked = {(i["business"], i["turn_id"]) for i in report["items"]}
    assert asked == {(b, t.id) for b in BUSINESSES for t in turns_of(b)}
    planned = {(p["business"], p["plan_id"]) for p in report["plans"]}
    assert planned == {(b, p.id) for b in BUSINESSES for p in load_golden(b).plans}
    assert len(BUSINESSES) == 3 and all(len(turns_of(b)) >= 40 for b in BUSINESSES)


def test_each_business_reports_exactly_the_ex_the_stub_was_scripted_for(
    report: dict[str, Any], script: GoldenScript
) -> None:
    for business in BUSINESSES:
        expected = script.expected_ex(turns_of(business))
        assert 0 < expected < 1, "a mixed subset"
        figures = row(report, business)
        assert figures["bizsql"]["ex"] == expected, business
        assert figures["baseline"]["ex"] == expected, business
        assert figures["bizsql"]["classification_accuracy"] == script.expected_classification(
            turns_of(business)
        )
        assert f"{100 * expected:.1f}%" in report["_output"], business


def test_bizsql_reads_at_most_half_the_baseline_prompt_tokens_on_acme_retail(report: dict[str, Any]) -> None:
    assert report["meta"]["token_counter"].startswith("mistral-common"), "Mistral's own tokenizer counts"
    figures = row(report, "acme_retail")
    ours = figures["bizsql"]["prompt_tokens_per_question"]
    theirs = figures["baseline"]["prompt_tokens_per_question"]
    ratio = report["prompt_token_ratio"]["acme_retail"]
    assert ratio == pytest.approx(ours / theirs)
    print(f"\nacme_retail prompt tokens per database question: bizsql {ours:.0f}, baseline {theirs:.0f}")
    print("ratios: " + ", ".join(f"{b} {r:.3f}" for b, r in report["prompt_token_ratio"].items()))
    assert ratio <= TOKEN_GOAL
    assert f"acme_retail: {ratio:.2f}" in report["_markdown"]
