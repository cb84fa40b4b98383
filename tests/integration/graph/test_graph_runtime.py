"""The graph against moving parts: a schema that changes, SQL over MCP, real memory, token streaming."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import psycopg
import pytest
from langchain_core.messages import AIMessageChunk, HumanMessage
from pymongo import MongoClient

from bizsql.checkpointers import AsyncRedisMongoSaver
from bizsql.config import Settings
from bizsql.embedded import free_port, wait_until
from bizsql.graph.builder import build_graph
from bizsql.graph.clients import build_deps
from bizsql.graph.context import Context
from bizsql.graph.interfaces import Deps
from bizsql.llm import ANSWER_TAG
from bizsql.retrieval.index import SchemaIndex
from bizsql.retrieval.source import PgSchemaSource
from bizsql.stores.business import BusinessConfig
from bizsql.stores.conversations import ConversationStore
from bizsql.stores.mongo import AUDIT_LOGS
from tests.integration.graph.conftest import Chat, query
from tests.support.stub_mistral import StubMistral, text, tool

pytestmark = pytest.mark.integration


def database(question: str) -> Any:
    return tool("Classification", intent="database", standalone_question=question, clarifying_question="")


def sql(statement: str) -> Any:
    return tool("SqlDraft", sql=statement, confidence=0.9, explanation="as asked")


def admin_sql(settings: Settings, statement: str, dbname: str = "postgres") -> None:
    assert settings.postgres_url
    url = psycopg.conninfo.make_conninfo(settings.postgres_url, dbname=dbname)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(statement.encode())


@pytest.fixture
def scratch(graph_settings: Settings) -> Iterator[BusinessConfig]:
    """A throwaway business database (a copy of a demo table), readable by acme_retail's reader role."""
    name = f"scratch_graph_{uuid.uuid4().hex[:8]}"
    reader = "bizsql_acme_retail_reader"
    admin_sql(graph_settings, f"CREATE DATABASE {name}")
    try:
        admin_sql(graph_settings, f"""
            CREATE TABLE customers (id integer PRIMARY KEY, name text NOT NULL, state text NOT NULL);
            COMMENT ON TABLE customers IS 'People who have an account.';
            INSERT INTO customers VALUES (1, 'Ada', 'TX'), (2, 'Bob', 'CA'), (3, 'Cy', 'TX');
            GRANT CONNECT ON DATABASE {name} TO {reader};
            GRANT USAGE ON SCHEMA public TO {reader};
            GRANT SELECT ON ALL TABLES IN SCHEMA public TO {reader};
        """, name)  # fmt: skip
        yield BusinessConfig.model_validate(
            {"business_id": name, "name": "Scratch", "database": {"name": name, "reader_role": reader}}
        )
    finally:
        admin_sql(graph_settings, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class WithScratch:
    def __init__(self, inner: Any, extra: BusinessConfig) -> None:
        self.inner, self.extra = inner, extra

    async def get(self, business_id: str) -> BusinessConfig:
        return self.extra if business_id == self.extra.business_id else await self.inner.get(business_id)


async def test_a_new_column_shows_in_the_next_questions_schema_context(
    deps: Deps, stub: StubMistral, graph_settings: Settings, scratch: BusinessConfig
) -> None:
    fresh = graph_settings.model_copy(update={"schema_fingerprint_ttl_seconds": 0.0})
    index = SchemaIndex(fresh, PgSchemaSource(fresh))
    chat = Chat(replace(deps, configs=WithScratch(deps.configs, scratch), schema_index=index),
                business=scratch.business_id, user="admin", role="admin")  # fmt: skip

    stub.script(database("How many customers per state?"),
                sql("SELECT state, count(*) FROM customers GROUP BY state"), text("TX leads."))  # fmt: skip
    before = await chat.ask("How many customers per state?")
    assert "TABLE customers" in before["schema_context"]
    assert "loyalty_points" not in before["schema_context"]

    admin_sql(graph_settings, "ALTER TABLE customers ADD COLUMN loyalty_points integer NOT NULL DEFAULT 0; "
              "COMMENT ON COLUMN customers.loyalty_points IS 'Points earned in the loyalty programme.'",
              scratch.database.name)  # fmt: skip
    top = "SELECT name, loyalty_points FROM customers ORDER BY 2 DESC LIMIT 1"
    stub.script(database("Who has the most loyalty points?"), sql(top), text("Ada."))
    after = await chat.ask("Who has the most loyalty points?")

    assert "loyalty_points integer  -- Points earned in the loyalty programme." in after["schema_context"]
    assert "loyalty_points integer" in stub.requests[-2]["messages"][0]["content"], "the LLM saw it"
    assert after["result"]["columns"] == ["name", "loyalty_points"]
    stats = index.stats()[scratch.business_id]
    assert (stats["rebuilds"], stats["last_rebuild_reason"]) == (2, "schema changed")


@pytest.fixture
def mcp_url(graph_settings: Settings) -> Iterator[str]:
    """`bizsql mcp --http` for acme_retail, as a separate process of the same deployment (same servers,
    same JWT secret), auditing reads too so a test can see whom each statement ran as."""
    port = free_port()
    env = {**os.environ, "BIZSQL_POSTGRES_URL": str(graph_settings.postgres_url),
           "BIZSQL_MONGO_URL": str(graph_settings.mongo_url), "BIZSQL_MONGO_DB": graph_settings.mongo_db,
           "BIZSQL_ROLE_SECRET": "test-role-secret",
           "BIZSQL_JWT_SECRET": graph_settings.secret_values()[0], "BIZSQL_AUDIT_READS": "true",
           "BIZSQL_DATA_DIR": str(graph_settings.data_dir)}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "bizsql.cli", "mcp", "--business", "acme_retail", "--http", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:

        def up() -> bool:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "exited"
            with __import__("socket").create_connection(("127.0.0.1", port), timeout=0.2):
                return True

        wait_until(up, "bizsql mcp --http", timeout=60)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


async def test_execute_goes_through_the_mcp_server_when_it_is_configured(
    stub: StubMistral, graph_settings: Settings, mcp_url: str
) -> None:
    """No BIZSQL_MCP_TOKEN: the graph signs service tokens, and the server runs SQL as the chat's user."""
    deps = build_deps(graph_settings.model_copy(update={"mcp_url": mcp_url, "mcp_token": None}))
    try:
        assert type(deps.executor).__name__ == "McpSqlRunner"
        verified = (await deps.configs.get("acme_retail")).verified_queries[0]
        ran_as = {"sql": verified.sql, "source": "mcp", "business_id": "acme_retail", "outcome": "read"}
        before = {user: audited(graph_settings, {**ran_as, "user": user}) for user in ("alice", "admin")}
        out = await Chat(deps).ask(verified.question)
        assert out["result"]["rows"] == query(graph_settings, "acme_retail", verified.sql)
        assert audited(graph_settings, {**ran_as, "user": "alice"}) == before["alice"] + 1
        assert audited(graph_settings, {**ran_as, "user": "admin"}) == before["admin"]

        stub.script(database("Drop the orders"), sql("DROP TABLE orders"))
        refused = await Chat(deps, thread="t2").ask("Drop the orders")
        assert refused["error"]["code"] == "sql_rejected"
    finally:
        await deps.aclose()


async def test_an_mcp_server_that_does_not_answer_ends_the_turn_without_sql_repairs(
    stub: StubMistral, graph_settings: Settings
) -> None:
    """Not a failed query: no LLM repair (the stub fails on an unscripted request), and the user learns
    only that the SQL service does not answer, not where it lives."""
    url = f"http://127.0.0.1:{free_port()}/mcp"
    deps = build_deps(graph_settings.model_copy(update={"mcp_url": url, "mcp_token": None}))
    try:
        question = "How many orders are pending?"
        stub.script(database(question), sql("SELECT count(*) FROM orders WHERE status = 'pending'"))
        out = await Chat(deps, thread="t-unreachable").ask(question)
        assert out["error"] == {"code": "service_unavailable", "detail": "the SQL service does not answer"}
        assert out["answer"] == "I could not answer: the SQL service does not answer"
        assert len(stub.requests) == 2, "classify and generate_sql only: no repair of SQL never at fault"
    finally:
        await deps.aclose()


def audited(settings: Settings, match: dict[str, Any]) -> int:
    """How many audit_logs entries match, read straight from MongoDB."""
    assert settings.mongo_url
    client: MongoClient[dict[str, Any]]
    with MongoClient(settings.mongo_url) as client:
        return client[settings.mongo_db][AUDIT_LOGS].count_documents(match)


@pytest.fixture
async def saver(graph_settings: Settings) -> AsyncIterator[AsyncRedisMongoSaver]:
    async with AsyncRedisMongoSaver.from_settings(graph_settings) as real:
        await real.asetup()
        yield real


async def test_a_conversation_survives_a_new_graph_and_is_kept_readable(
    deps: Deps, stub: StubMistral, saver: AsyncRedisMongoSaver, graph_settings: Settings
) -> None:
    thread = f"graph-{uuid.uuid4().hex}"
    first = Chat(deps, thread=thread, graph=build_graph(saver))
    stub.script(database("How many stores are there?"), sql("SELECT count(*) AS stores FROM stores"),
                text("There are some stores."))  # fmt: skip
    await first.ask("How many stores are there?")

    async with AsyncRedisMongoSaver.from_settings(graph_settings) as other:
        again = Chat(deps, thread=thread, graph=build_graph(other))
        in_texas = "SELECT count(*) AS stores FROM stores WHERE state = 'TX'"
        stub.script(database("How many stores are there in Texas?"), sql(in_texas), text("A few."))
        out = await again.ask("and in Texas?")
    assert [m.type for m in out["messages"]] == ["human", "ai", "human", "ai"]
    assert (
        "User: How many stores are there?" in stub.requests_for("Classification")[1]["messages"][1]["content"]
    )

    assert isinstance(deps.conversations, ConversationStore)
    doc = await deps.conversations.get_thread(thread, out_identity(first))
    assert [m["content"] for m in doc["messages"] if m["role"] == "user"] == [
        "How many stores are there?", "and in Texas?"
    ]  # fmt: skip
    assert doc["messages"][-1]["sql"] == "SELECT count(*) AS stores FROM stores WHERE state = 'TX'"
    assert (doc["user"], doc["business_id"]) == ("alice", "acme_retail")


def out_identity(chat: Chat) -> Any:
    return Context(business_id=chat.business, username=chat.user, role="analyst",
                   home_business=chat.business).identity  # fmt: skip


async def test_answer_tokens_stream_as_the_stub_sends_them(chat: Chat, stub: StubMistral) -> None:
    stub.script(database("How many stores are there?"), sql("SELECT count(*) AS stores FROM stores"),
                text("There are twenty-five stores in all, one of them online."))  # fmt: skip
    context = Context(
        business_id="acme_retail", username="alice", home_business="acme_retail", deps=chat.deps
    )
    pieces = []
    async for message, meta in chat.graph.astream(
        {"messages": [HumanMessage("How many stores are there?")]},
        {"configurable": {"thread_id": "stream"}},
        context=context,
        stream_mode="messages",
    ):
        if isinstance(message, AIMessageChunk) and ANSWER_TAG in meta.get("tags", []) and message.content:
            pieces.append(message.content)
    assert len(pieces) > 3, "the answer came token by token"
    assert "".join(pieces) == "There are twenty-five stores in all, one of them online."
    assert stub.requests[-1]["stream"] is True
