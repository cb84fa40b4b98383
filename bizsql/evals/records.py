"""What an eval run records: the run itself, and what each system did with each golden question."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class Cost(BaseModel):
    """What answering cost: LLM calls and tokens (counted, and as the provider reported), and time."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    provider_prompt_tokens: int = 0
    provider_completion_tokens: int = 0
    sql_prompt_tokens: int = 0
    latency_ms: float = 0.0


class Outcome(Cost):
    """What one system did with one turn. ``ex`` is None for turns that expect no SQL."""

    intent: str | None = None
    intent_ok: bool | None = None
    sql: str = ""
    error: str | None = None
    row_count: int | None = None
    ex: bool | None = None
    tables: list[str] = Field(default_factory=list)
    recall_at_5: float | None = None
    verified: bool = False


class TurnRecord(BaseModel):
    business: str
    thread_id: str
    turn_id: str
    turn_index: int
    question: str
    expected_intent: str
    difficulty: str
    verified_question: str | None = None
    gold_row_count: int | None = None
    bizsql: Outcome
    baseline: Outcome | None = None


class RunMeta(BaseModel):
    run_id: str
    started_at: datetime
    finished_at: datetime | None = None
    model: str
    llm_endpoint: str
    businesses: list[str]
    limit: int | None
    split: str = "all"
    """Which threads: every one, the development two-thirds, or the held-out third (golden.in_split)."""
    baseline: bool
    kinds: list[str] = Field(default_factory=lambda: ["questions", "plans"])
    """Which golden items were asked: single questions and conversations, multi-step questions."""
    token_counter: str
    prompt_settings: dict[str, int | float]
    """The settings that decide what bizsql's prompts hold, so a report says what it measured."""
