"""The per-business configuration document, typed, and how to load it from MongoDB."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.database import Database

from bizsql.errors import NotFound
from bizsql.stores.mongo import BUSINESS_CONFIGS


class DatabaseRef(BaseModel):
    name: str
    reader_role: str
    writer_role: str | None = None


class VerifiedQuery(BaseModel):
    question: str
    sql: str


class BusinessConfig(BaseModel):
    """Everything that differs between tenants lives here, never in code."""

    business_id: str
    name: str
    description: str = ""
    database: DatabaseRef
    row_cap: int = Field(1000, ge=1)
    statement_timeout_ms: int = Field(5000, ge=1)
    max_cost: float = Field(5_000_000.0, gt=0)
    allow_writes: bool = False
    max_write_rows: int = Field(100, ge=1)
    privacy_mode: bool = False
    daily_token_budget: int | None = None
    chat_rate_per_minute: int | None = None
    glossary: dict[str, str] = Field(default_factory=dict)
    instructions: str = ""
    verified_queries: list[VerifiedQuery] = Field(default_factory=list)

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> BusinessConfig:
        return cls.model_validate({k: v for k, v in doc.items() if k != "_id"})


def load_business_config(db: Database[dict[str, Any]], business_id: str) -> BusinessConfig:
    doc = db[BUSINESS_CONFIGS].find_one({"business_id": business_id})
    if doc is None:
        raise NotFound(f"unknown business {business_id!r}")
    return BusinessConfig.from_document(doc)


async def aload_business_config(db: AsyncDatabase[dict[str, Any]], business_id: str) -> BusinessConfig:
    doc = await db[BUSINESS_CONFIGS].find_one({"business_id": business_id})
    if doc is None:
        raise NotFound(f"unknown business {business_id!r}")
    return BusinessConfig.from_document(doc)
