"""Graph unit fixtures: a small shop schema served by a fake source, a fake executor, a scripted LLM."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bizsql.auth.identity import Identity
from bizsql.config import Settings
from bizsql.errors import NotFound, QueryFailed
from bizsql.graph.context import Context
from bizsql.graph.interfaces import Deps
from bizsql.llm import LlmClient
from bizsql.retrieval.index import SchemaIndex
from bizsql.retrieval.table_docs import ColumnDoc, ForeignKeyDoc, TableDoc
from bizsql.sql.result import QueryResult
from bizsql.stores.business import BusinessConfig
from bizsql.stores.conversations import LoggedTurn
from tests.support.fake_llm import ScriptedChatModel


def col(name: str, type_: str = "integer", comment: str = "", *samples: str) -> ColumnDoc:
    return ColumnDoc(name, type_, comment, tuple(samples))


def fk(column: str, table: str) -> ForeignKeyDoc:
    return ForeignKeyDoc((column,), table, ("id",))


SHOP_TABLES = [
    TableDoc("customers", (col("id"), col("name", "text", "full name", "Ada Lovelace"),
                           col("state", "text", "US state code", "TX", "CA")),
             "People who buy from us", ("id",)),
    TableDoc("products", (col("id"), col("name", "text"), col("category", "text", "", "Toys"),
                          col("price", "numeric(10,2)", "list price")), "What we sell", ("id",)),
    TableDoc("orders", (col("id"), col("customer_id"), col("order_date", "date"), col("total", "numeric")),
             "One row per order", ("id",), (fk("customer_id", "customers"),)),
    TableDoc("order_items", (col("order_id"), col("product_id"), col("quantity")),
             "Products in each order", ("order_id", "product_id"),
             (fk("order_id", "orders"), fk("product_id", "products"))),
    TableDoc("employees", (col("id"), col("name", "text"), col("hired_on", "date")), "Staff", ("id",)),
    TableDoc("suppliers", (col("id"), col("name", "text"), col("country", "text")), "Who supplies us"),
]  # fmt: skip


@dataclass
class FakeSource:
    """Serves SHOP_TABLES (or whatever a test puts in ``tables``) and counts reads."""

    tables: list[TableDoc] = field(default_factory=lambda: list(SHOP_TABLES))
    fingerprints: int = 0
    describes: int = 0

    async def fingerprint(self, business: BusinessConfig) -> str:
        self.fingerprints += 1
        blob = json.dumps([t.to_json() for t in self.tables], sort_keys=True)
        return hashlib.md5(blob.encode()).hexdigest()

    async def describe(self, business: BusinessConfig) -> list[TableDoc]:
        self.describes += 1
        return list(self.tables)


def rows_result(columns: list[str], rows: list[list[Any]], row_count: int = 0) -> QueryResult:
    """A read's result as the executor returns it."""
    return QueryResult(
        columns=columns, rows=rows, row_count=row_count, truncated=False, kind="read", duration_ms=1.0
    )


@dataclass
class FakeExecutor:
    """Answers SQL by a test-provided function; records what ran and as whom."""

    answer: Callable[[str], QueryResult] = lambda sql: rows_result(["n"], [[1]], 1)
    ran: list[tuple[str, str]] = field(default_factory=list)

    async def run(self, sql: str, *, business: BusinessConfig, identity: Identity) -> QueryResult:
        self.ran.append((sql, identity.username))
        return self.answer(sql)


def failing_on(bad: str, message: str = 'column "totl" does not exist') -> Callable[[str], QueryResult]:
    def answer(sql: str) -> QueryResult:
        if bad in sql:
            raise QueryFailed(message)
        return rows_result(["state", "customers"], [["TX", 3], ["CA", 2]], 2)

    return answer


@dataclass
class FakeConfigs:
    configs: dict[str, BusinessConfig]

    async def get(self, business_id: str) -> BusinessConfig:
        if business_id not in self.configs:
            raise NotFound(f"unknown business {business_id!r}")
        return self.configs[business_id]


@dataclass
class FakeLog:
    turns: list[dict[str, Any]] = field(default_factory=list)

    async def append_turn(self, thread_id: str, turn: LoggedTurn) -> None:
        self.turns.append({"thread_id": thread_id, **vars(turn)})


def shop_business(**overrides: Any) -> BusinessConfig:
    doc: dict[str, Any] = {
        "business_id": "shop",
        "name": "Shop",
        "description": "a small web shop",
        "database": {"name": "shop", "reader_role": "shop_reader"},
        "glossary": {"revenue": "sum of orders.total"},
        "instructions": "Money is in USD.",
        "verified_queries": [
            {"question": "How many customers are there in each state?",
             "sql": "SELECT state, count(*) AS customers FROM customers GROUP BY state ORDER BY 2 DESC"},
            {"question": "What are the top 10 products by price?",
             "sql": "SELECT name, price FROM products ORDER BY price DESC LIMIT 10"},
        ],
    }  # fmt: skip
    doc.update(overrides)
    return BusinessConfig.model_validate(doc)


@pytest.fixture
def unit_settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        role_secret=SecretStr("x"),
        jwt_secret=SecretStr("y"),
        mistral_api_key=None,
        mistral_base_url=None,
    )


@dataclass
class Harness:
    settings: Settings
    source: FakeSource
    executor: FakeExecutor
    log: FakeLog
    configs: FakeConfigs
    index: SchemaIndex

    def deps(self, llm: ScriptedChatModel | None = None, **changes: Any) -> Deps:
        client = LlmClient(llm, attempts=2, backoff_initial=0.001, backoff_max=0.002) if llm else None
        settings = self.settings.model_copy(update=changes) if changes else self.settings
        return Deps(settings, self.configs, self.index, self.executor, client, self.log)

    def context(
        self, deps: Deps, user: str = "alice", role: str = "analyst", business: str = "shop"
    ) -> Context:
        home = "all" if role == "admin" else "shop"
        return Context(business_id=business, username=user, role=role, home_business=home, deps=deps)  # type: ignore[arg-type]


@pytest.fixture
def harness(unit_settings: Settings) -> Harness:
    source = FakeSource()
    configs = FakeConfigs({"shop": shop_business(), "other": shop_business(business_id="other")})
    return Harness(unit_settings, source, FakeExecutor(), FakeLog(), configs,
                   SchemaIndex(unit_settings, source))  # fmt: skip
