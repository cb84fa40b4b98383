"""The API's request and response models, in one place: the shapes the OpenAPI document publishes.

The chat answer (``ChatResult``) is the turn runner's (``graph.run``) and the dry run's answer
(``DryRunResult``) the dry-run graph's; both are re-exported here with the rest.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from bizsql.auth.identity import Identity, Role
from bizsql.auth.tokens import TokenPair
from bizsql.graph.approval import ApprovalOut
from bizsql.graph.dry_run import DryRunResult, VerdictOut
from bizsql.graph.run import ChatResult, TokenUsageOut, TurnErrorOut

__all__ = [
    "APPROVAL_ID", "BUSINESS_ID", "MESSAGE_HARD_LIMIT", "THREAD_ID", "ApprovalOut", "ApproveRequest",
    "BusinessList", "BusinessOut", "ChatRequest", "ChatResult", "DebugSqlRequest", "DryRunResult",
    "LoginRequest", "LogoutResponse", "MessageOut", "RefreshRequest", "Thread", "ThreadPage",
    "ThreadSummary", "TokenResponse", "TokenUsageOut", "TurnErrorOut", "UserOut", "VerdictOut",
]  # fmt: skip


# /auth
class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: SecretStr = Field(min_length=1, max_length=256)


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refresh_token: str = Field(min_length=1, max_length=4096)


class UserOut(BaseModel):
    username: str
    role: Role
    business_id: str

    @classmethod
    def of(cls, identity: Identity) -> UserOut:
        return cls(username=identity.username, role=identity.role, business_id=identity.business_id)


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires.")
    user: UserOut

    @classmethod
    def of(cls, pair: TokenPair, identity: Identity) -> TokenResponse:
        return cls(
            access_token=pair.access_token,
            refresh_token=pair.refresh_token,
            expires_in=pair.expires_in,
            user=UserOut.of(identity),
        )


class LogoutResponse(BaseModel):
    sessions_revoked: int


# /businesses
class BusinessOut(BaseModel):
    business_id: str
    name: str
    description: str = ""
    allow_writes: bool = Field(False, description="Whether the business accepts writes at all.")
    can_write: bool = Field(
        False,
        description="Whether the caller may write here: the business allows it and they are an editor or "
        "an admin.",
    )
    verified_questions: list[str] = Field(
        default_factory=list, description="Questions answered with checked SQL and no LLM call."
    )

    @classmethod
    def of(cls, doc: dict[str, Any], identity: Identity) -> BusinessOut:
        allow_writes = bool(doc.get("allow_writes"))
        return cls(
            business_id=str(doc["business_id"]),
            name=str(doc.get("name") or doc["business_id"]),
            description=str(doc.get("description") or ""),
            allow_writes=allow_writes,
            can_write=allow_writes and identity.may_write,
            verified_questions=[
                str(q["question"]) for q in doc.get("verified_queries") or [] if "question" in q
            ],
        )


class BusinessList(BaseModel):
    businesses: list[BusinessOut]


# /chat
MESSAGE_HARD_LIMIT = 32_000


THREAD_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"


BUSINESS_ID = r"^[A-Za-z0-9_-]{1,64}$"


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: str = Field(
        min_length=1, max_length=MESSAGE_HARD_LIMIT, description="The question, in plain words."
    )
    thread_id: str | None = Field(
        None, pattern=THREAD_ID, description="Continue this conversation; omit to start one."
    )
    business_id: str | None = Field(
        None, pattern=BUSINESS_ID, description="Admins only: the business to ask about (omit: general chat)."
    )


APPROVAL_ID = r"^[0-9a-f]{32}$"


class ApproveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    thread_id: str = Field(pattern=THREAD_ID, description="The thread whose turn waits for approval.")
    approval_id: str = Field(pattern=APPROVAL_ID, description="The id in the answer's `approval`.")
    decision: Literal["approve", "reject"]


# /conversations
class ThreadSummary(BaseModel):
    thread_id: str
    user: str | None = None
    business_id: str | None = None
    title: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    turns: int = 0


class ThreadPage(BaseModel):
    threads: list[ThreadSummary]
    limit: int
    offset: int
    next_offset: int | None = Field(description="Pass as offset for the next page; null on the last page.")


class LoggedStepOut(BaseModel):
    """One step of a planned answer, as the conversation keeps it (its rows are not kept)."""

    question: str
    sql: str | None = None
    row_count: int | None = None
    error: str | None = Field(None, description="The step's error code, when it failed.")


class MessageOut(BaseModel):
    role: str
    content: str
    at: datetime | None = None
    intent: str | None = None
    sql: str | None = None
    row_count: int | None = None
    steps: list[LoggedStepOut] | None = None


class Thread(ThreadSummary):
    messages: list[MessageOut] = Field(default_factory=list)


# /debug
class DebugSqlRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    business_id: str = Field(pattern=BUSINESS_ID)
    question: str = Field(min_length=1, max_length=MESSAGE_HARD_LIMIT)
