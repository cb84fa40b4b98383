"""`bizsql eval` end to end against the stub Mistral server, scripted to get a known subset wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bizsql.cli import app
from bizsql.config import Settings
from bizsql.demo import get_demo_business
from bizsql.evals.golden import GoldenTurn, load_golden
from bizsql.evals.runner import select_threads
from tests.integration.evals.conftest import run_eval
from tests.support.eval_stub import GoldenScript, GoldenStub
from tests.support.stub_mistral import prompt_text

pytestmark = pytest.mark.integration

BUSINESS = "acme_retail"
LIMIT = 14
"""Threads of acme_retail spread over the set: easy to hard, conversations, a verified paraphrase and a
general message, in about twenty turns."""


@pytest.fixture(scope="module")
def script() -> GoldenScript:
    return GoldenScript({BUSINESS: load_golden(BUSINESS)}, wrong_every=3, misclassify_every=2)


@pytest.fixture(scope="module")
def report(seeded: Settings, stub: GoldenStub, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("eval-reports")
    return run_eval(seeded, stub, out, "--business", BUSINESS, "--limit", str(LIMIT), "--kind", "questions")


def asked_turns() -> list[GoldenTurn]:
    return [t for thread in select_threads(load_golden(BUSINESS), LIMIT) for t in thread.turns]


def overall(report: dict[str, Any]) -> dict[str, Any]:
    (row,) = [g for g in report["summary"] if g["business"] == BUSINESS and g["difficulty"] == "all"]
    return row


def test_the_reported_ex_is_exactly_the_share_the_stub_answered_right(
    report: dict[str, Any], script: GoldenScript
) -> None:
    turns = asked_turns()
    wrong = {t.id for t in turns if script.wrong(t)}
    assert wrong and len(wrong) < len([t for t in turns if t.intent == "database"]), "a mixed subset"
    row = overall(report)
    assert row["bizsql"]["ex"] == script.expected_ex(turns)
    assert row["baseline"]["ex"] == script.expected_ex(turns)
    by_id = {item["turn_id"]: item for item in report["items"]}
    assert sorted(by_id) == sorted(t.id for t in turns), "every asked turn is in the report"
    for turn in turns:
        if turn.intent == "database":
            assert by_id[turn.id]["bizsql"]["ex"] is (turn.id not in wrong), turn.id
    assert f"{100 * script.expected_ex(turns):.1f}%" in report["_output"]


def test_classification_accuracy_counts_the_misclassified_messages(
    report: dict[str, Any], script: GoldenScript
) -> None:
    turns = asked_turns()
    assert any(script.misclassified(t) for t in turns)
    assert overall(report)["bizsql"]["classification_accuracy"] == script.expected_classification(turns)


def test_llm_calls_are_counted_per_question_for_both_systems(report: dict[str, Any]) -> None:
    database = [i for i in report["items"] if i["expected_intent"] == "database"]
    for item in database:
        ours, theirs = item["bizsql"], item["baseline"]
        assert ours["calls"] == (0 if ours["verified"] else 3), item["turn_id"]  # classify, SQL, summary
        assert theirs["calls"] == 1 and theirs["prompt_tokens"] > 0
        if not ours["verified"]:
            assert 0 < ours["sql_prompt_tokens"] < ours["prompt_tokens"]
            assert ours["recall_at_5"] is not None
    others = [i for i in report["items"] if i["expected_intent"] != "database"]
    assert others and all(i["baseline"] is None for i in others), "the baseline answers no chit-chat"


def test_retrieval_makes_the_sql_prompt_smaller_than_the_whole_schema(report: dict[str, Any]) -> None:
    row = overall(report)
    ours, theirs = row["bizsql"], row["baseline"]
    assert ours["sql_prompt_tokens_per_question"] < theirs["sql_prompt_tokens_per_question"]
    ratio = report["prompt_token_ratio"][BUSINESS]
    assert ratio == pytest.approx(ours["prompt_tokens_per_question"] / theirs["prompt_tokens_per_question"])
    sql_ratio = report["sql_prompt_token_ratio"][BUSINESS]
    ours_q, theirs_q = ours["prompt_tokens_per_question"], theirs["prompt_tokens_per_question"]
    print(
        f"\nprompt tokens per database question on {BUSINESS}: bizsql {ours_q:.0f}, baseline {theirs_q:.0f},"
        f" ratio {ratio:.2f}; SQL prompt only {sql_ratio:.2f} ({report['meta']['token_counter']})"
    )


def test_the_markdown_report_shows_both_systems_side_by_side(report: dict[str, Any]) -> None:
    markdown = report["_markdown"]
    assert "| business | difficulty |" in markdown
    row = overall(report)
    ours, theirs = row["bizsql"]["prompt_tokens_per_question"], row["baseline"]["prompt_tokens_per_question"]
    assert f"{ours:,.0f} / {theirs:,.0f}" in markdown
    assert report["meta"]["token_counter"] in markdown


def test_without_a_key_or_a_base_url_eval_says_how_to_set_one(tmp_path: Path) -> None:
    env = {"MISTRAL_API_KEY": None, "BIZSQL_MISTRAL_API_KEY": None, "MISTRAL_BASE_URL": None,
           "BIZSQL_MISTRAL_BASE_URL": None}  # fmt: skip
    result = CliRunner().invoke(app, ["eval", "--out", str(tmp_path)], env=env)
    assert result.exit_code == 2
    assert "MISTRAL_API_KEY" in result.output
    assert list(tmp_path.iterdir()) == [], "no report is written"


def test_the_baseline_prompt_holds_every_table_and_no_verified_example(
    report: dict[str, Any], stub: GoldenStub
) -> None:
    tables = get_demo_business(BUSINESS).tables
    baseline = [r for r in stub.requests if "PostgreSQL expert" in prompt_text(r)]
    ours = [r for r in stub.requests if "SqlDraft" in str(r.get("tools")) and r not in baseline]
    assert len(baseline) == sum(1 for i in report["items"] if i["baseline"] is not None)
    for request in baseline:
        shown = prompt_text(request)
        assert all(f"TABLE {t} " in shown for t in tables)
        assert "Verified examples" not in shown
    assert all(sum(f"TABLE {t} " in prompt_text(r) for t in tables) < len(tables) for r in ours)
