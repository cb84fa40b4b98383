"""The stub Mistral server scripted from the golden sets, so `bizsql eval` can run end to end without a key.

It answers by looking the question up in the request: the classification request by its "Latest message"
(with the business from the system prompt), SQL generation (bizsql's and the baseline's) by its last
"Question:" line. It answers the gold SQL, except for a known subset of database questions, which get SQL
that runs but returns something else; so the eval's EX must equal exactly the share of the rest. Questions
that paraphrase a verified query are never in the wrong subset (the fast path may answer them without the
LLM). A known subset of non-database messages is misclassified, to check classification accuracy the same
way. Summaries and general answers are a fixed text.

A multi-step question (a golden plan) is classified as needing a plan and planned as its gold steps; each
step's SQL request is answered by the step's question (steps may arrive in parallel, in any order) with its
gold SQL, except a known subset of steps, which get WRONG_SQL. A known subset of plans is classified as
one-step questions instead, so the graph answers them in one statement, as does the baseline: with the
gold last step's SQL, except a known subset of plans.

    python -m tests.support.eval_stub --port 8911 --wrong-every 4
    MISTRAL_BASE_URL=http://127.0.0.1:8911/v1 bizsql eval
"""

from __future__ import annotations

import argparse
import re
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bizsql.demo import get_demo_business
from bizsql.evals.golden import GoldenPlan, GoldenSet, GoldenTurn, GoldStep, available_businesses, load_golden
from tests.support.stub_mistral import Reply, StubMistral, text, tool, tool_names

WRONG_SQL = "SELECT 'the stub answered this one wrongly on purpose' AS wrong_answer"
SUMMARY = "Here is what the data shows."
CLARIFYING = "Which figures do you mean: sales, customers or stock?"
_BUSINESS = re.compile(r'business "([^"]+)"')
_LATEST = re.compile(r"^Latest message: (.*)$", re.MULTILINE)
_QUESTION = re.compile(r"^Question: (.*)$", re.MULTILINE)


def _picked(turn_id: str, every: int) -> bool:
    return every > 0 and zlib.crc32(turn_id.encode()) % every == 0


@dataclass
class GoldenScript:
    """What the stub answers for every golden question, and which answers are wrong on purpose."""

    goldens: dict[str, GoldenSet]
    wrong_every: int = 3
    misclassify_every: int = 2
    wrong_step_every: int = 0
    unplanned_every: int = 0
    _by_name: dict[str, dict[str, GoldenTurn | GoldenPlan | tuple[GoldenPlan, int]]] = field(
        init=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        for business_id, golden in self.goldens.items():
            lookup: dict[str, GoldenTurn | GoldenPlan | tuple[GoldenPlan, int]] = {}
            for turn in golden.turns():
                lookup[_key(turn.question)] = turn
                lookup[_key(turn.asked)] = turn
            for plan in golden.plans:
                lookup[_key(plan.question)] = plan
                lookup |= {_key(step.question): (plan, i) for i, step in enumerate(plan.steps)}
            self._by_name[get_demo_business(business_id).name] = lookup

    def wrong(self, turn: GoldenTurn) -> bool:
        """Answered with WRONG_SQL: a fixed subset of database questions (verified paraphrases excluded)."""
        return turn.intent == "database" and not turn.verified_question and _picked(turn.id, self.wrong_every)

    def misclassified(self, turn: GoldenTurn) -> bool:
        """Classified as the wrong kind of message: a fixed subset of general and clarify messages."""
        return turn.intent != "database" and _picked(turn.id, self.misclassify_every)

    def wrong_step(self, plan: GoldenPlan, index: int) -> bool:
        """A step (0-based) answered with WRONG_SQL: a fixed subset of the plans' steps."""
        return _picked(f"{plan.id}#{index + 1}", self.wrong_step_every)

    def unplanned(self, plan: GoldenPlan) -> bool:
        """A plan classified as a one-step question: a fixed subset."""
        return _picked(plan.id, self.unplanned_every)

    def wrong_statement(self, plan: GoldenPlan) -> bool:
        """The one statement asked for the whole plan question is WRONG_SQL (the baseline's, and the
        graph's when it did not plan): a fixed subset of plans."""
        return _picked(plan.id, self.wrong_every)

    def one_statement(self, plan: GoldenPlan) -> str:
        return WRONG_SQL if self.wrong_statement(plan) else plan.final.sql.strip()

    def expected_ex(self, turns: Iterable[GoldenTurn]) -> float:
        database = [t for t in turns if t.intent == "database"]
        return sum(1 for t in database if not self.wrong(t)) / len(database)

    def expected_classification(self, turns: Iterable[GoldenTurn]) -> float:
        chosen = list(turns)
        return sum(1 for t in chosen if not self.misclassified(t)) / len(chosen)

    def turn_for(self, request: dict[str, Any], pattern: re.Pattern[str]) -> GoldenTurn:
        item = self.item_for(request, pattern)
        if not isinstance(item, GoldenTurn):
            raise LookupError(f"{item!r} is a plan or a step, not a golden question")
        return item

    def item_for(
        self, request: dict[str, Any], pattern: re.Pattern[str]
    ) -> GoldenTurn | GoldenPlan | tuple[GoldenPlan, int]:
        """The golden question, plan, or (plan, step index) whose text the request asks about."""
        messages = request.get("messages", [])
        system = str(messages[0].get("content") or "") if messages else ""
        business = _BUSINESS.search(system)
        asked = [m for msg in messages for m in pattern.findall(str(msg.get("content") or ""))]
        if business is None or not asked:
            raise LookupError("the request names no business or no question")
        turn = self._by_name.get(business.group(1), {}).get(_key(asked[-1]))
        if turn is None:
            raise LookupError(f"no golden question {asked[-1]!r} for {business.group(1)}")
        return turn

    def reply(self, request: dict[str, Any]) -> Reply:
        tools = tool_names(request)
        if not tools:
            return text(SUMMARY)  # a summary, a plan's combined answer, or a general answer
        if "PlanDraft" in tools:
            plan = self.item_for(request, _QUESTION)
            if not isinstance(plan, GoldenPlan):
                raise LookupError(f"a plan was asked for {plan!r}")
            return tool("PlanDraft", steps=[{"question": s.question, "uses": s.uses} for s in plan.steps])
        item = self.item_for(request, _LATEST if "Classification" in tools else _QUESTION)
        if isinstance(item, GoldenTurn):
            return self.turn_reply(item, tools)
        if "Classification" in tools and isinstance(item, GoldenPlan):
            return tool("Classification", intent="database", standalone_question=item.question,
                        needs_plan=not self.unplanned(item))  # fmt: skip
        if "SqlDraft" in tools:
            sql = self.step_sql(*item) if isinstance(item, tuple) else self.one_statement(item)
            return tool("SqlDraft", sql=sql, confidence=0.9, explanation="scripted by the eval stub")
        raise LookupError(f"no scripted answer to {tools} for {item!r}")

    def step_sql(self, plan: GoldenPlan, index: int) -> str:
        step: GoldStep = plan.steps[index]
        return WRONG_SQL if self.wrong_step(plan, index) else step.sql.strip()

    def turn_reply(self, turn: GoldenTurn, tools: list[str]) -> Reply:
        if "Classification" in tools:
            intent = turn.intent
            if self.misclassified(turn):
                intent = "clarify" if intent == "general" else "general"
            return tool("Classification", intent=intent, standalone_question=turn.asked,
                        clarifying_question=CLARIFYING if intent == "clarify" else "")  # fmt: skip
        sql = WRONG_SQL if self.wrong(turn) or not turn.sql else turn.sql.strip()
        return tool("SqlDraft", sql=sql, confidence=0.9, explanation="scripted by the eval stub")


def _key(question: str) -> str:
    return " ".join(question.lower().split())


class GoldenStub(StubMistral):
    """The stub server answering every request from a GoldenScript, for as many requests as come."""

    def __init__(self, script: GoldenScript) -> None:
        super().__init__()
        self.golden_script = script

    def _next(self, request: dict[str, Any]) -> Reply | None:
        with self._lock:
            self.requests.append(request)
        try:
            return self.golden_script.reply(request)
        except LookupError as exc:
            self.unexpected.append(str(exc))
            return None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=0, help="Port to listen on (default: a free one).")
    parser.add_argument("--wrong-every", type=int, default=3, help="About 1 in N database answers wrong.")
    parser.add_argument("--misclassify-every", type=int, default=2, help="About 1 in N non-database wrong.")
    parser.add_argument("--wrong-step-every", type=int, default=4, help="About 1 in N plan steps wrong.")
    parser.add_argument("--unplanned-every", type=int, default=6, help="About 1 in N plans not planned.")
    args = parser.parse_args()
    goldens = {b: load_golden(b) for b in available_businesses()}
    script = GoldenScript(
        goldens, args.wrong_every, args.misclassify_every, args.wrong_step_every, args.unplanned_every
    )
    stub = GoldenStub(script)
    if args.port:
        stub.port = args.port
        stub._server.config.port = args.port
    stub.start()
    print(f"stub Mistral on {stub.url}")
    for business, golden in goldens.items():
        turns = list(golden.turns())
        print(f"  {business}: expected EX {100 * script.expected_ex(turns):.1f}%, classification "
              f"{100 * script.expected_classification(turns):.1f}% over the whole set")  # fmt: skip
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        stub.stop()


if __name__ == "__main__":
    main()
