"""What flows between the nodes of one chat turn (typing_extensions.TypedDict, as LangServe and Studio need).

``InputState`` is what a caller sends (the new message). ``State`` adds what the nodes fill in; a turn's
fields are reset by ``load_context`` so nothing of the previous turn leaks into the next one, while
``messages`` (the conversation) accumulates through the checkpointer.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from langchain_core.messages import AnyMessage
from langchain_core.messages.ai import add_usage
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

from bizsql.graph.approval import ApprovalRecord, PendingWrite
from bizsql.llm import TurnUsage

Intent = Literal["database", "general", "clarify", "unavailable"]
Source = Literal["llm", "verified"]


def count_usage(before: TurnUsage | None, added: TurnUsage | None) -> TurnUsage:
    """The reducer of ``usage``: each node returns what its own LLM call used, and the turn adds it up
    (langchain-core's ``add_usage`` for the tokens). ``load_context`` resets it with ``Overwrite``."""
    calls = (before.get("calls", 0) if before else 0) + (added.get("calls", 0) if added else 0)
    return {**add_usage(before, added), "calls": calls}


class TurnError(TypedDict):
    """Why a turn could not answer with data: ``code`` is stable (errors.py), ``detail`` is for people."""

    code: str
    detail: str


class PlanStep(TypedDict):
    """One step of a plan: a sub-question, and the earlier steps (0-based) whose results it needs."""

    question: str
    uses: list[int]


class StepResult(TypedDict, total=False):
    """What one step of a plan did: its SQL and result (``QueryResult`` as data), or why it failed."""

    index: int
    question: str
    sql: str
    source: Source
    confidence: float
    result: dict[str, Any] | None
    error: TurnError | None


def merge_steps(before: list[StepResult] | None, added: list[StepResult] | None) -> list[StepResult]:
    """The reducer of ``steps``: parallel steps each add their own result; kept in plan order."""
    merged = {s["index"]: s for s in (before or [])}
    merged.update({s["index"]: s for s in (added or [])})
    return [merged[i] for i in sorted(merged)]


class InputState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]


class SqlWork(TypedDict, total=False):
    """What the SQL path (retrieve_schema, generate_sql, validate, execute) reads and writes: in a
    one-step turn's state, and in each plan step's own."""

    schema_context: str
    tables: list[str]
    glossary_terms: list[str] | None
    """The glossary terms the SQL prompt shows; None (a turn that retrieved nothing) shows them all."""
    sql: str
    confidence: float
    explanation: str
    source: Source
    verified_question: str
    result: dict[str, Any] | None
    """The statement's ``sql.result.QueryResult`` as plain data (``model_dump``), for any checkpointer."""
    error: TurnError | None
    attempts: int
    retry: bool
    """Set by execute: the database refused the SQL and the LLM may fix it (back to generate_sql)."""
    needs_approval: bool
    """The SQL is a write that waits for a person's yes after its dry run (``nodes.approve_write``)."""


class State(InputState, SqlWork, total=False):
    business_id: str
    user: str
    intent: Intent
    question: str
    answer: str
    chart: dict[str, Any] | None
    usage: Annotated[TurnUsage, count_usage]
    pending_write: PendingWrite | None
    approval: ApprovalRecord | None
    needs_plan: bool
    """Set by classify: the question needs several queries, so the plan node writes them."""
    plan: list[PlanStep]
    steps: Annotated[list[StepResult], merge_steps]
    """A planned turn's steps as they finish (empty for a one-step turn)."""


class StepInput(TypedDict, total=False):
    """What the plan sends to one step: its place in the plan, its question, earlier results it uses."""

    index: int
    question: str
    used: list[StepResult]
    """The earlier steps this one uses (their SQL and rows)."""


class StepOutput(TypedDict, total=False):
    """What a step gives back to the turn: its result, and the LLM tokens it used."""

    steps: Annotated[list[StepResult], merge_steps]
    usage: Annotated[TurnUsage, count_usage]


class StepState(StepInput, StepOutput, SqlWork, total=False):
    """One step's own working state: the fields the SQL nodes read and write, as in a one-step turn.

    ``read_only``: a plan only reads; a write is a question of its own, which waits for approval."""

    prior: str
    """The earlier steps it uses, as prompt text (``nodes.steps.prior_results``)."""
    read_only: bool


TURN_DEFAULTS: State = {
    "intent": "database",
    "question": "",
    "schema_context": "",
    "tables": [],
    "glossary_terms": None,
    "sql": "",
    "confidence": 0.0,
    "explanation": "",
    "source": "llm",
    "verified_question": "",
    "result": None,
    "error": None,
    "attempts": 0,
    "answer": "",
    "chart": None,
    "usage": {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0, "calls": 0},
    "retry": False,
    "needs_plan": False,
    "plan": [],
    "steps": [],
    "needs_approval": False,
    "pending_write": None,
    "approval": None,
}
"""A new turn starts from these, so a follow-up never inherits the last turn's SQL, rows or error."""
