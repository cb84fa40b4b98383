"""scripts/compare_evals.py: the kinds of failure it names, and the turns a change moved."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from bizsql.evals.records import Outcome, RunMeta, TurnRecord
from bizsql.evals.report import build_report, write_reports

ROOT = Path(__file__).resolve().parents[3]
UNDECLARED = "sql_rejected: o.channel: nothing named o here"


def turn(turn_id: str, outcome: Outcome, intent: str = "database") -> TurnRecord:
    return TurnRecord(
        business="acme_retail", thread_id=turn_id, turn_id=turn_id, turn_index=0, question=f"{turn_id}?",
        expected_intent=intent, difficulty="easy", bizsql=outcome,
    )  # fmt: skip


def report(tmp_path: Path, name: str, *turns: TurnRecord) -> Path:
    meta = RunMeta(
        run_id=name, started_at=datetime(2026, 12, 4, tzinfo=UTC), model="m", llm_endpoint="local: m",
        businesses=["acme_retail"], limit=None, baseline=False, token_counter="t", prompt_settings={},
    )  # fmt: skip
    json_path, _ = write_reports(build_report(meta, list(turns)), tmp_path / name)
    return json_path


def compare(*paths: Path) -> subprocess.CompletedProcess[str]:
    script = ROOT / "scripts" / "compare_evals.py"
    return subprocess.run([sys.executable, script, *map(str, paths)], capture_output=True, text=True)


def test_before_and_after_show_ex_the_failures_left_and_the_turns_that_moved(tmp_path: Path) -> None:
    before = report(
        tmp_path, "before",
        turn("q1", Outcome(sql="SELECT o.channel FROM orders", error=UNDECLARED, ex=False, calls=2)),
        turn("q2", Outcome(sql="SELECT 1", ex=True, calls=2, intent_ok=True)),
        turn("q3", Outcome(sql="SELECT 2", ex=False, calls=2, intent_ok=True)),
        turn("g1", Outcome(intent="database", intent_ok=False), intent="general"),
    )  # fmt: skip
    after = report(
        tmp_path, "after",
        turn("q1", Outcome(sql="SELECT o.channel FROM orders AS o", ex=True, calls=3)),
        turn("q2", Outcome(sql="SELECT 1", ex=True, calls=2, intent_ok=True)),
        turn("q3", Outcome(sql="SELECT 2", ex=False, calls=2, intent_ok=True)),
        turn("g1", Outcome(intent="database", intent_ok=False), intent="general"),
    )  # fmt: skip

    one = compare(before)
    assert one.returncode == 0, one.stderr
    assert "| acme_retail | 3 | 1/3 (33.3 %) |" in one.stdout
    assert '| a table or alias the query never declares | 1 | q1 "q1?": `' + UNDECLARED + "` |" in one.stdout
    assert "| SQL that ran and returned the wrong rows | 1 |" in one.stdout
    assert "| a general question classified as database | 1 |" in one.stdout

    two = compare(before, after)
    assert two.returncode == 0, two.stderr
    assert "| all | 3 | 1/3 (33.3 %) | 2/3 (66.7 %) |" in two.stdout
    assert (
        "| q1 | ✗ 2 calls: `" + UNDECLARED + "` | ✓ 3 calls: `SELECT o.channel FROM orders AS o` |"
        in two.stdout
    )
    assert "| q2 |" not in two.stdout and "| q3 |" not in two.stdout.split("| turn |")[1]


def test_reports_of_different_turns_are_not_compared(tmp_path: Path) -> None:
    before = report(tmp_path, "before", turn("q1", Outcome(sql="SELECT 1", ex=True)))
    after = report(tmp_path, "after", turn("q2", Outcome(sql="SELECT 1", ex=True)))
    refused = compare(before, after)
    assert refused.returncode == 2
    assert "asked different turns" in refused.stderr
