"""What a statement gives back, declared once: the executor returns it, the MCP tools send it, the graph
keeps it (as JSON) in its state, and the chat answer shows its rows with the same fields."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class ResultRows(BaseModel):
    """Rows as JSON-safe values, and whether the business's limits cut any of them."""

    columns: list[str]
    rows: list[list[Any]]
    row_count: int
    truncated: bool = Field(description="The result had more than the row cap or the byte cap allows.")
    truncated_by: Literal["rows", "bytes"] | None = Field(
        None, description="Which limit cut the rows off: the business's row cap or its byte cap."
    )
    values_cut: int = Field(0, description="Values longer than the business's value limit, cut and marked.")


NO_ROWS: dict[str, Any] = {"columns": [], "rows": [], "row_count": 0, "truncated": False}
"""The rows of a turn that ran no statement."""


class QueryResult(ResultRows):
    """One statement's result: its rows, whether it read or wrote, and what it cost."""

    kind: Literal["read", "write"]
    rows_affected: int | None = None
    duration_ms: float
    estimated_cost: float | None = None


class ExplainResult(BaseModel):
    estimated_cost: float
    plan: Any
