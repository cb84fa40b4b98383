"""The conversations projection: who may load a thread, what GET /conversations lists, and its rebuild."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from pymongo import AsyncMongoClient

from bizsql.auth.identity import Identity
from bizsql.errors import NotFound, TenantDenied
from bizsql.stores.conversations import META_KEY, ConversationStore, LoggedTurn
from tests.integration.memory.conftest import Saver, Servers, close, make_saver, unique

pytestmark = pytest.mark.integration

ALICE = Identity("alice", "analyst", "acme_retail")
BOB = Identity("bob", "analyst", "acme_retail")
CAROL = Identity("carol", "analyst", "city_clinic")
ROOT = Identity("root", "admin", "all")
T0 = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


@pytest.fixture
async def store(servers: Servers) -> AsyncIterator[ConversationStore]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(servers.mongo_url, tz_aware=True)
    made = ConversationStore(client[unique("conversations")])
    await made.setup()
    yield made
    await client.close()


async def turn(
    store: ConversationStore, thread_id: str, who: Identity, question: str, at: datetime, **kw: Any
) -> None:
    await store.append_turn(thread_id, LoggedTurn(
        identity=who, business_id=kw.get("business_id", who.business_id), user_message=question,
        assistant_message=f"answer to {question}", intent=kw.get("intent", "database"), sql=kw.get("sql"),
        row_count=kw.get("row_count"), at=at,
    ))  # fmt: skip


async def test_a_thread_belongs_to_the_user_and_business_that_started_it(store: ConversationStore) -> None:
    await store.bind_thread("t-alice", ALICE, "acme_retail")
    await store.bind_thread("t-alice", ALICE, "acme_retail")  # the next turn binds again: fine
    with pytest.raises(TenantDenied):
        await store.bind_thread("t-alice", BOB, "acme_retail")
    with pytest.raises(TenantDenied):
        await store.check_access("t-alice", BOB, "acme_retail")
    with pytest.raises(TenantDenied):
        await store.bind_thread(
            "t-alice", ROOT, "acme_retail"
        )  # admins read others' threads, never add to them
    with pytest.raises(TenantDenied):
        await store.check_access("t-alice", ROOT, "city_clinic")  # never loaded under another business
    with pytest.raises(TenantDenied):
        await store.bind_thread("t-carol", CAROL, "acme_retail")  # not her business at all
    await store.check_access("t-alice", ALICE, "acme_retail")
    await store.check_access("t-alice", ROOT, None)
    with pytest.raises(NotFound):
        await store.check_access("nobody-started-this", ALICE, "acme_retail")


async def test_turns_are_appended_once_with_sql_row_count_and_intent(store: ConversationStore) -> None:
    await turn(
        store, "t1", ALICE, "How many orders last month?", T0, sql="SELECT count(*) FROM orders", row_count=1
    )
    await turn(
        store, "t1", ALICE, "How many orders last month?", T0, sql="SELECT count(*) FROM orders", row_count=1
    )
    await turn(
        store, "t1", ALICE, "And by region?", T0 + timedelta(minutes=1), intent="database", row_count=4
    )
    with pytest.raises(TenantDenied):
        await turn(store, "t1", BOB, "let me in", T0 + timedelta(minutes=2))
    doc = await store.get_thread("t1", ALICE)
    assert doc["title"] == "How many orders last month?"
    assert (doc["user"], doc["business_id"], doc["turns"]) == ("alice", "acme_retail", 2)
    assert [(m["role"], m["content"]) for m in doc["messages"]] == [
        ("user", "How many orders last month?"), ("assistant", "answer to How many orders last month?"),
        ("user", "And by region?"), ("assistant", "answer to And by region?"),
    ]  # fmt: skip
    first_answer = doc["messages"][1]
    assert (first_answer["sql"], first_answer["row_count"], first_answer["intent"]) == (
        "SELECT count(*) FROM orders", 1, "database")  # fmt: skip
    assert doc["updated_at"] == T0 + timedelta(minutes=1)
    with pytest.raises(TenantDenied):
        await store.get_thread("t1", BOB)
    assert (await store.get_thread("t1", ROOT))["thread_id"] == "t1"


async def test_listing_shows_only_ones_own_threads_newest_first(store: ConversationStore) -> None:
    for i in range(5):
        await turn(store, f"a{i}", ALICE, f"question {i}", T0 + timedelta(hours=i))
    await turn(store, "b0", BOB, "bob's question", T0 + timedelta(hours=9))
    listed = await store.list_threads(ALICE, business_id="acme_retail", limit=3, offset=0)
    assert [d["thread_id"] for d in listed] == ["a4", "a3", "a2"]
    assert "messages" not in listed[0] and listed[0]["title"] == "question 4"
    more = await store.list_threads(ALICE, business_id=None, limit=3, offset=3)
    assert [d["thread_id"] for d in more] == ["a1", "a0"]
    everyone = await store.list_threads(ROOT, business_id="acme_retail", limit=10, offset=0, all_users=True)
    assert [d["thread_id"] for d in everyone][:2] == ["b0", "a4"]
    assert [
        d["thread_id"]
        for d in await store.list_threads(BOB, business_id=None, limit=10, offset=0, all_users=True)
    ] == ["b0"]
    with pytest.raises(TenantDenied):
        await store.list_threads(ALICE, business_id="city_clinic", limit=10, offset=0)


@pytest.fixture
async def saver(servers: Servers) -> AsyncIterator[Saver]:
    made = make_saver("async", servers, key_prefix=unique("ckpt"))
    yield made
    await close(made)


async def put_messages(saver: Saver, thread_id: str, messages: list[Any]) -> None:
    """A checkpoint as the chat graph leaves it: the conversation, plus who owns it."""
    from langgraph.checkpoint.conformance.test_utils import (
        generate_checkpoint,
        generate_config,
        generate_metadata,
    )

    values = {"messages": messages, "user": "alice", "business_id": "acme_retail"}
    checkpoint = generate_checkpoint(channel_values=values, channel_versions={k: 1 for k in values})
    await saver.aput(generate_config(thread_id), checkpoint, generate_metadata(), {k: 1 for k in values})


async def test_the_projection_is_rebuilt_from_the_checkpoint(store: ConversationStore, saver: Any) -> None:
    thread_id = unique("t")
    messages = [
        HumanMessage("Top 3 products?"),
        AIMessage("Widgets lead.", additional_kwargs={META_KEY: {"intent": "database", "sql": "SELECT 1",
                                                                 "row_count": 3, "at": T0.isoformat()}}),
        HumanMessage("Thanks!"),
        AIMessage("You're welcome.", additional_kwargs={META_KEY: {"intent": "general"}}),
    ]  # fmt: skip
    await put_messages(saver, thread_id, messages)
    rebuilt = await store.rebuild_from_checkpoint(thread_id, saver)
    assert (rebuilt["user"], rebuilt["business_id"], rebuilt["turns"]) == ("alice", "acme_retail", 2)
    assert rebuilt["title"] == "Top 3 products?"
    assert [m["content"] for m in rebuilt["messages"]] == [
        "Top 3 products?",
        "Widgets lead.",
        "Thanks!",
        "You're welcome.",
    ]
    assert (rebuilt["messages"][1]["sql"], rebuilt["messages"][1]["row_count"]) == ("SELECT 1", 3)
    assert rebuilt["messages"][1]["at"] == T0
    assert await store.get_thread(thread_id, ALICE) == rebuilt
    with pytest.raises(TenantDenied):
        await store.get_thread(thread_id, BOB)


async def test_deleting_a_thread_removes_it_from_both_stores(store: ConversationStore, saver: Any) -> None:
    thread_id = unique("t")
    await put_messages(saver, thread_id, [HumanMessage("hi"), AIMessage("hello")])
    await store.rebuild_from_checkpoint(thread_id, saver)
    with pytest.raises(TenantDenied):
        await store.delete_thread(thread_id, BOB, saver)
    await store.delete_thread(thread_id, ALICE, saver)
    assert await saver.aget_tuple({"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}) is None
    with pytest.raises(NotFound):
        await store.get_thread(thread_id, ALICE)
