"""End-to-end graph fixtures: the stub Mistral server, real demo databases, real MongoDB and executor."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from pydantic import SecretStr

from bizsql.auth.identity import Identity
from bizsql.config import Settings
from bizsql.graph.builder import build_graph
from bizsql.graph.clients import build_deps
from bizsql.graph.context import Context
from bizsql.graph.interfaces import Deps
from bizsql.retrieval.table_docs import TableDoc
from bizsql.stores.business import BusinessConfig
from tests.support.stub_mistral import StubMistral


@pytest.fixture(scope="session")
def stub_server() -> Iterator[StubMistral]:
    stub = StubMistral().start()
    yield stub
    stub.stop()


@pytest.fixture
def stub(stub_server: StubMistral) -> Iterator[StubMistral]:
    """The stub, emptied for each test; a test fails if the graph asked it something unscripted."""
    stub_server.reset()
    yield stub_server
    assert stub_server.unexpected == [], stub_server.unexpected


@pytest.fixture(scope="session")
def graph_settings(
    seeded: Settings, stub_server: StubMistral, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    return seeded.model_copy(
        update={
            "data_dir": tmp_path_factory.mktemp("graph-data"),
            "mistral_api_key": SecretStr("test-key"),
            "mistral_base_url": stub_server.url,
            "llm_attempts": 1,
        }
    )


@dataclass
class Spy:
    """Wraps the real executor and schema source to count what reached the database."""

    inner: Any
    calls: list[str] = field(default_factory=list)

    async def run(self, sql: str, *, business: BusinessConfig, identity: Identity) -> Any:
        self.calls.append(sql)
        return await self.inner.run(sql, business=business, identity=identity)

    async def dry_run(self, sql: str, *, business: BusinessConfig, identity: Identity) -> Any:
        self.calls.append(f"dry run: {sql}")
        return await self.inner.dry_run(sql, business=business, identity=identity)

    async def run_approved(self, sql: str, **kwargs: Any) -> Any:
        self.calls.append(f"approved: {sql}")
        return await self.inner.run_approved(sql, **kwargs)

    async def record_decision(self, sql: str, **kwargs: Any) -> None:
        self.calls.append(f"{kwargs['outcome']}: {sql}")
        await self.inner.record_decision(sql, **kwargs)

    async def fingerprint(self, business: BusinessConfig) -> str:
        self.calls.append("fingerprint")
        return str(await self.inner.fingerprint(business))

    async def describe(self, business: BusinessConfig) -> list[TableDoc]:
        self.calls.append("describe")
        return list(await self.inner.describe(business))


@pytest.fixture(scope="session")
async def session_deps(graph_settings: Settings) -> AsyncIterator[Deps]:
    deps = build_deps(graph_settings)
    yield deps
    await deps.aclose()


@pytest.fixture
def deps(session_deps: Deps) -> Deps:
    """Real clients, with spies on what touches the business databases."""
    executor = session_deps.executor
    while isinstance(executor, Spy):
        executor = executor.inner
    source = session_deps.schema_index.source
    while isinstance(source, Spy):
        source = source.inner
    session_deps.executor = Spy(executor)
    session_deps.schema_index.source = Spy(source)
    return session_deps


@dataclass
class Chat:
    """One conversation: the graph with an in-memory checkpointer, asked as one user."""

    deps: Deps
    business: str = "acme_retail"
    user: str = "alice"
    role: str = "analyst"
    thread: str = "thread-1"
    graph: Any = field(default_factory=lambda: build_graph(InMemorySaver()))

    async def ask(self, question: str) -> dict[str, Any]:
        return await self.send({"messages": [HumanMessage(question)]})

    async def decide(self, approval_id: str, decision: str, **who: str) -> dict[str, Any]:
        """Resume the paused turn (``who``: user and role of someone else deciding)."""
        return await self.send(Command(resume={"approval_id": approval_id, "decision": decision}), **who)

    async def send(self, payload: Any, *, user: str = "", role: str = "") -> dict[str, Any]:
        role = role or self.role
        home = "all" if role == "admin" else self.business
        context = Context(business_id=self.business, username=user or self.user, role=role,  # type: ignore[arg-type]
                          home_business=home, deps=self.deps)  # fmt: skip
        out = await self.graph.ainvoke(payload, {"configurable": {"thread_id": self.thread}}, context=context)
        return dict(out)


@pytest.fixture
def chat(deps: Deps) -> Chat:
    return Chat(deps)


def query(settings: Settings, database: str, sql: str) -> list[list[Any]]:
    """Ground truth: the same SQL straight on the database as the superuser, JSON-normalised like results."""
    from bizsql.sql.json_values import json_rows

    assert settings.postgres_url
    with psycopg.connect(psycopg.conninfo.make_conninfo(settings.postgres_url, dbname=database)) as conn:
        return json_rows(conn.execute(sql.encode()).fetchall())  # type: ignore[call-overload,no-any-return]
