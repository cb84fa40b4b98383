"""What the SQL guard decides, shared by its layers: the verdict a caller reads and the refusal they raise."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel

Kind = Literal["read", "write", "unknown"]


class Verdict(BaseModel):
    """What the guard decided, and why, in words a user can act on.

    ``retryable`` marks a refusal that names something the business does not have (a table or column
    that does not exist): the statement is wrong rather than hostile, so the LLM may rewrite it, as it
    would after PostgreSQL's own "column does not exist".
    """

    allowed: bool
    kind: Kind
    reason: str
    tables: list[str]
    retryable: bool = False


class Refused(Exception):
    """Raised inside the guard's layers; ``check_sql`` turns it into a refusing ``Verdict``."""

    def __init__(
        self, reason: str, kind: Kind = "unknown", tables: Iterable[str] = (), *, retryable: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason, self.kind, self.tables, self.retryable = reason, kind, list(tables), retryable
