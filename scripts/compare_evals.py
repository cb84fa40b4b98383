"""Read `bizsql eval` JSON reports for docs/quality.md: why answers failed, and what a change changed.

    python scripts/compare_evals.py REPORT.json  # the kinds of failure, with an example each
    python scripts/compare_evals.py BEFORE.json AFTER.json  # EX before and after, and the turns that moved

Both reports must have asked the same turns (the same --split and --limit); bizsql's outcomes are
compared, the baseline's are left as they are. Prints Markdown.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bizsql.evals.records import Outcome, TurnRecord
from bizsql.evals.report import EvalReport

KINDS = (
    ("nothing named", "a table or alias the query never declares"),
    ("is not a column", "a column that is not there"),
    ("has no column", "a column that is not there"),
    ("does not exist", "a column or table that is not there (the database's error)"),
    ("no table or view", "a table that is not there"),
)


def failure_kind(record: TurnRecord, outcome: Outcome) -> str | None:
    """Why a turn went wrong, in a few words; None when it was right (or expected no SQL and got none)."""
    if outcome.intent_ok is False:
        return f"a {record.expected_intent} question classified as {outcome.intent}"
    if outcome.ex is not False:
        return None
    if outcome.error:
        code, _, detail = outcome.error.partition(": ")
        for marker, kind in KINDS:
            if marker in detail:
                return kind
        return {"query_failed": "another database error", "sql_rejected": "another guard refusal"}.get(
            code, f"no SQL ({code})"
        )
    return "SQL that ran and returned the wrong rows" if outcome.sql else "no SQL"


def load(path: Path) -> EvalReport:
    return EvalReport.model_validate_json(path.read_text())


def ex_table(before: EvalReport, after: EvalReport | None) -> list[str]:
    rows = ["| business | database turns | EX " + ("before | EX after |" if after else "|"), "|---|---|---|"]
    rows[1] += "---|" if after else ""
    businesses = sorted({r.business for r in before.items})
    for business in [*businesses, "all"]:
        mine = [
            r for r in before.items if business in ("all", r.business) and r.expected_intent == "database"
        ]
        line = f"| {business} | {len(mine)} | {_ex(mine)} |"
        if after is not None:
            ids = {r.turn_id for r in mine}
            line += f" {_ex([r for r in after.items if r.turn_id in ids])} |"
        rows.append(line)
    return rows


def _ex(records: list[TurnRecord]) -> str:
    right = sum(1 for r in records if r.bizsql.ex)
    return f"{right}/{len(records)} ({100 * right / len(records):.1f} %)" if records else "-"


def failures(report: EvalReport) -> list[str]:
    found = [(failure_kind(r, r.bizsql), r) for r in report.items]
    counts = Counter(kind for kind, _ in found if kind)
    lines = ["| kind of failure | turns | an example |", "|---|---|---|"]
    for kind, count in counts.most_common():
        example = next(r for k, r in found if k == kind)
        detail = example.bizsql.error or example.bizsql.sql
        lines.append(f'| {kind} | {count} | {example.turn_id} "{example.question}": `{_cell(detail)}` |')
    return lines


def moved(before: EvalReport, after: EvalReport) -> list[str]:
    previous = {r.turn_id: r for r in before.items}
    lines = ["| turn | before | after |", "|---|---|---|"]
    for record in after.items:
        old = previous.get(record.turn_id)
        if old is None or bool(old.bizsql.ex) == bool(record.bizsql.ex):
            continue
        lines.append(f"| {record.turn_id} | {_verdict(old)} | {_verdict(record)} |")
    return lines


def _verdict(record: TurnRecord) -> str:
    outcome = record.bizsql
    mark = "✓" if outcome.ex else "✗"
    return f"{mark} {outcome.calls} calls: `{_cell(outcome.error or outcome.sql)}`"


def _cell(text: str, width: int = 140) -> str:
    flat = " ".join(text.split()).replace("|", "\\|").replace("`", "'")
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("reports", nargs="+", type=Path, help="one report, or a before and an after")
    args = parser.parse_args()
    if len(args.reports) > 2:
        parser.error("give one report, or two: before and after")
    before = load(args.reports[0])
    after = load(args.reports[1]) if len(args.reports) == 2 else None
    if after is not None and {r.turn_id for r in before.items} != {r.turn_id for r in after.items}:
        parser.error("the two reports asked different turns: run both with the same --split and --limit")
    print("\n".join(ex_table(before, after)), end="\n\n")
    print("\n".join(failures(after or before)), end="\n\n")
    if after is not None:
        print("\n".join(moved(before, after)))


if __name__ == "__main__":
    main()
