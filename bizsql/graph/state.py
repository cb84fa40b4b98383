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


class InputState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]


class State(InputState, total=False):
    business_id: str
    user: str
    intent: Intent
    question: str
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
    answer: str
    chart: dict[str, Any] | None
    usage: Annotated[TurnUsage, count_usage]
    needs_approval: bool
    """The SQL is a write that waits for a person's yes after its dry run (``nodes.approve_write``)."""
    pending_write: PendingWrite | None
    approval: ApprovalRecord | None


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
    "needs_approval": False,
    "pending_write": None,
    "approval": None,
}
"""A new turn starts from these, so a follow-up never inherits the last turn's SQL, rows or error."""
