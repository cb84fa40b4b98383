"""Golden question sets: YAML files of questions with gold SQL, loaded and checked with pydantic.

One file per business (``evals/golden/<business>.yaml``). Single questions and multi-turn conversations
are both *threads*: a single question is a thread of one turn, and every turn of a conversation is asked in
the same thread, so follow-ups ("and only in Texas?") depend on the earlier turns as they would for a user.
A *plan* is one question that takes several queries; its gold answer is the steps, each with gold SQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import sqlglot
import yaml
from pydantic import BaseModel, Field, model_validator
from sqlglot import exp

Intent = Literal["database", "general", "clarify"]
Split = Literal["all", "dev", "holdout"]
HOLDOUT_EVERY = 3
"""Every third single question and every third conversation, in file order, is held out: never looked at
while choosing a change to prompts or retrieval, only to check one. Counting within each kind keeps the
held-out third's mix of difficulties and follow-ups the same as the rest's."""
Difficulty = Literal["easy", "medium", "hard"]
DIFFICULTIES: tuple[Difficulty, ...] = ("easy", "medium", "hard")
GOLDEN_DIR = Path(__file__).resolve().parents[2] / "evals" / "golden"


class GoldenTurn(BaseModel):
    """One question with what a correct answer needs."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    question: str = Field(min_length=2)
    intent: Intent = "database"
    difficulty: Difficulty = "easy"
    sql: str | None = Field(None, description="Gold SQL (database questions only).")
    tables: list[str] = Field(default_factory=list, description="Tables the gold SQL reads (CTEs excluded).")
    standalone: str | None = Field(
        None, description="For a follow-up: the question rewritten to stand alone (what SQL must answer)."
    )
    verified_question: str | None = Field(
        None, description="When this paraphrases one of the business's verified questions: that question."
    )

    @model_validator(mode="after")
    def _database_needs_sql(self) -> GoldenTurn:
        if self.intent == "database" and not (self.sql and self.tables):
            raise ValueError(f"{self.id}: a database question needs sql and tables")
        if self.intent != "database" and (self.sql or self.tables):
            raise ValueError(f"{self.id}: only database questions have sql or tables")
        return self

    @property
    def asked(self) -> str:
        """The question as it should reach SQL generation (the standalone rewrite of a follow-up)."""
        return self.standalone or self.question


class Conversation(BaseModel):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    turns: list[GoldenTurn] = Field(min_length=2)


class GoldStep(BaseModel):
    """One step of a plan's gold answer. A later step's SQL holds the values its earlier steps return on
    the demo data as literals (the data is deterministic), so each step is scored on its own."""

    question: str = Field(min_length=2, description="The step as a planner would write it.")
    sql: str
    tables: list[str] = Field(min_length=1, description="Tables the gold SQL reads (CTEs excluded).")
    uses: list[int] = Field(
        default_factory=list, description="Numbers (1 = first) of earlier steps it needs."
    )


class GoldenPlan(BaseModel):
    """A question that takes several queries: a later one using an earlier one's results, or results
    compared side by side. The last step holds the answer a one-statement attempt is compared with."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    question: str = Field(min_length=2)
    difficulty: Difficulty = "hard"
    steps: list[GoldStep] = Field(min_length=2)

    @model_validator(mode="after")
    def _uses_earlier_steps(self) -> GoldenPlan:
        for number, step in enumerate(self.steps, start=1):
            if any(not 1 <= u < number for u in step.uses):
                raise ValueError(f"{self.id}: step {number} may use only earlier steps, not {step.uses}")
        return self

    @property
    def final(self) -> GoldStep:
        return self.steps[-1]


class GoldenSet(BaseModel):
    """A business's golden questions: single questions, multi-turn conversations and plans."""

    business: str
    questions: list[GoldenTurn] = Field(default_factory=list)
    conversations: list[Conversation] = Field(default_factory=list)
    plans: list[GoldenPlan] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> GoldenSet:
        """Ids and question texts (steps' too: the eval stub finds a request's item by its text)."""
        ids = [t.id for t in self.turns()] + [c.id for c in self.conversations] + [p.id for p in self.plans]
        texts = [t.question.strip().lower() for t in self.turns()]
        texts += [t.standalone.strip().lower() for t in self.turns() if t.standalone]
        texts += [q.strip().lower() for p in self.plans for q in (p.question, *(s.question for s in p.steps))]
        for name, values in (("id", ids), ("question text", texts)):
            dupes = sorted({v for v in values if values.count(v) > 1})
            if dupes:
                raise ValueError(f"{self.business}: duplicate {name}s {dupes}")
        return self

    def threads(self, split: Split = "all") -> Iterator[Thread]:
        """Every thread in file order (single questions first, then the conversations), or only those of
        the development two-thirds (``dev``) or of the held-out third (``holdout``)."""
        for index, q in enumerate(self.questions):
            if in_split(index, split):
                yield Thread(q.id, (q,))
        for index, c in enumerate(self.conversations):
            if in_split(index, split):
                yield Thread(c.id, tuple(c.turns))

    def turns(self) -> Iterator[GoldenTurn]:
        for thread in self.threads():
            yield from thread.turns


def in_split(index: int, split: Split) -> bool:
    """Whether the item at ``index`` of its kind (single questions, or conversations) is in ``split``."""
    held_out = index % HOLDOUT_EVERY == HOLDOUT_EVERY - 1
    return split == "all" or held_out == (split == "holdout")


@dataclass(frozen=True)
class Thread:
    """Turns asked one after the other in one conversation thread."""

    id: str
    turns: tuple[GoldenTurn, ...]


def golden_path(business_id: str, directory: Path = GOLDEN_DIR) -> Path:
    return directory / f"{business_id}.yaml"


def load_golden(business_id: str, directory: Path = GOLDEN_DIR) -> GoldenSet:
    """The golden set of one business; a malformed file raises pydantic's ValidationError naming the item."""
    data = yaml.safe_load(golden_path(business_id, directory).read_text())
    golden = GoldenSet.model_validate(data)
    if golden.business != business_id:
        path = golden_path(business_id, directory)
        raise ValueError(f"{path} is for {golden.business!r}, not {business_id!r}")
    return golden


def available_businesses(directory: Path = GOLDEN_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.yaml"))


def tables_in(sql: str) -> list[str]:
    """The tables a query reads, as sqlglot parses them; names of its CTEs are not tables."""
    tree = sqlglot.parse_one(sql, read="postgres")
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    return sorted({t.name for t in tree.find_all(exp.Table) if t.name and t.name not in ctes})
