"""The per-business configuration document, typed, and how to load it from MongoDB."""

from __future__ import annotations

from typing import Any

from cachetools import TTLCache
from pydantic import BaseModel, Field
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.database import Database

from bizsql.errors import NotFound
from bizsql.stores.mongo import BUSINESS_CONFIGS

MAX_CACHED_CONFIGS = 1024


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
    writes_need_approval: bool = True
    """A generated write pauses for a person's yes after its dry run; false for trusted automation."""
    max_result_bytes: int = Field(20_000_000, ge=1024)
    """Most bytes of rows one statement may return (reads and RETURNING alike); the rest is cut off."""
    max_value_chars: int = Field(16_384, ge=16)
    """Longer values are cut to this many characters on the database server and marked as cut."""
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


class CachedBusinessConfigs:
    """Business configs from MongoDB, each reused for ``ttl_seconds`` (an edited row cap shows up soon).

    Up to ``MAX_CACHED_CONFIGS`` businesses are held; an unknown business is not remembered.
    """

    def __init__(self, db: AsyncDatabase[dict[str, Any]], ttl_seconds: float) -> None:
        self.db = db
        self._cache: TTLCache[str, BusinessConfig] = TTLCache(MAX_CACHED_CONFIGS, ttl=max(ttl_seconds, 1e-9))
        self._enabled = ttl_seconds > 0

    async def get(self, business_id: str) -> BusinessConfig:
        hit = self._cache.get(business_id)
        if hit is not None:
            return hit
        config = await aload_business_config(self.db, business_id)
        if self._enabled:
            self._cache[business_id] = config
        return config
