"""A small chat graph on both savers: Redis serves the thread while warm, MongoDB keeps it for good."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from typing import Annotated, Any

import pytest
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from prometheus_client import REGISTRY
from pymongo import MongoClient
from typing_extensions import TypedDict

from bizsql.checkpointers import AsyncRedisMongoSaver, plans
from bizsql.checkpointers.base import BLOBS
from tests.integration.memory.conftest import Chat, Saver, Servers, close, make_saver, transcript, unique

pytestmark = pytest.mark.integration


def reads(source: str) -> float:
    return REGISTRY.get_sample_value("bizsql_memory_reads_total", {"source": source}) or 0.0


def thread_ttls(servers: Servers, saver: Saver) -> dict[bytes, int]:
    r = servers.redis()
    return {key: r.ttl(key) for key in r.scan_iter(match=f"{saver.keys.prefix}:*")}


async def wait_until_gone(servers: Servers, saver: Saver, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.1)):
        if not thread_ttls(servers, saver):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("Redis kept the thread past its TTL")


async def test_graph_resumes_from_mongo_after_redis_is_flushed_and_redis_is_warm_again(
    kind: str, fault_servers: Servers
) -> None:
    saver = make_saver(kind, fault_servers, key_prefix=unique("ckpt"))
    chat = Chat(saver)
    for question in ("one", "two", "three"):
        await chat.ask(question)
    fault_servers.redis().flushdb()
    from_mongo = reads("mongo")
    assert await chat.ask("four") == transcript("one", "two", "three", "four")
    assert reads("mongo") == from_mongo + 1
    ttls = thread_ttls(fault_servers, saver)
    assert ttls and all(0 < ttl <= 3600 for ttl in ttls.values())
    from_redis = reads("redis")
    assert await chat.messages() == transcript("one", "two", "three", "four")
    assert reads("redis") == from_redis + 1
    await close(saver)


async def test_every_redis_key_expires_within_the_hour(kind: str, saver: Saver, servers: Servers) -> None:
    chat = Chat(saver)
    for question in ("one", "two", "three"):
        await chat.ask(question)
    ttls = thread_ttls(servers, saver)
    assert len(ttls) >= 3  # the thread hash, its index, writes
    assert all(0 < ttl <= 3600 for ttl in ttls.values()), ttls


async def test_mongo_keeps_the_thread_after_its_redis_keys_expire(kind: str, servers: Servers) -> None:
    saver = make_saver(kind, servers, key_prefix=unique("ckpt"), ttl_seconds=1)
    chat = Chat(saver)
    await chat.ask("one")
    await chat.ask("two")
    assert all(0 < ttl <= 1 for ttl in thread_ttls(servers, saver).values())
    await wait_until_gone(servers, saver)
    from_mongo = reads("mongo")
    assert await chat.messages() == transcript("one", "two")
    assert reads("mongo") == from_mongo + 1
    assert await chat.ask("three") == transcript("one", "two", "three")
    await close(saver)


async def test_reading_a_thread_renews_its_ttl(kind: str, saver: Saver, servers: Servers) -> None:
    chat = Chat(saver)
    await chat.ask("one")
    r = servers.redis()
    for key in r.scan_iter(match=f"{saver.keys.prefix}:*"):
        r.expire(key, 10)  # as if the thread had sat idle for most of its hour
    await chat.messages()
    assert r.ttl(saver.keys.thread(chat.thread_id)) > 3000
    assert r.ttl(saver.keys.index(chat.thread_id)) > 3000


class ProfileState(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]
    profile: dict[str, str]


async def test_a_value_set_once_stays_in_redis_as_long_as_the_thread_is_used(
    kind: str, servers: Servers
) -> None:
    """The trap of a published Redis saver: a channel written in turn one but never again expired with
    its own TTL while later checkpoints still pointed at it."""

    def remember(state: ProfileState) -> dict[str, Any]:
        update: dict[str, Any] = {"messages": [AIMessage(f"answer {len(state['messages'])}")]}
        if not state.get("profile"):
            update["profile"] = {"language": "fr"}
        return update

    builder = StateGraph(ProfileState)
    builder.add_node("remember", remember)
    builder.add_edge(START, "remember")
    builder.add_edge("remember", END)
    saver = make_saver(kind, servers, key_prefix=unique("ckpt"), ttl_seconds=2)
    graph = builder.compile(checkpointer=saver)
    config: Any = {"configurable": {"thread_id": unique("thread")}}

    async def turn(text: str) -> dict[str, Any]:
        update: Any = {"messages": [HumanMessage(text)]}
        if isinstance(saver, AsyncRedisMongoSaver):
            return await graph.ainvoke(update, config)
        return graph.invoke(update, config)

    await turn("hello")
    for text in ("a", "b", "c"):  # 3.6 s in all: longer than the TTL, but never idle for a whole TTL
        await asyncio.sleep(1.2)
        await turn(text)
    from_redis = reads("redis")
    state = await turn("still there?")
    assert reads("redis") == from_redis + 1
    assert state["profile"] == {"language": "fr"}
    await close(saver)


async def test_history_edits_never_leave_a_stale_copy_in_redis(kind: str, saver: Saver) -> None:
    chat = Chat(saver)
    for question in ("one", "two"):
        await chat.ask(question)
    history = [t.config async for t in saver.alist(chat.config)]
    oldest = history[-1]
    assert await saver.aget_tuple(oldest) is not None
    await saver.aprune([chat.thread_id], strategy="keep_latest")
    assert await saver.aget_tuple(oldest) is None
    copy = Chat(saver, unique("copy"))
    await saver.acopy_thread(chat.thread_id, copy.thread_id)
    assert await copy.ask("three") == transcript("one", "two", "three")
    await saver.adelete_thread(chat.thread_id)
    assert await chat.messages() == []


async def test_the_async_saver_answers_sync_calls_from_other_threads_only(servers: Servers) -> None:
    saver = make_saver("async", servers, key_prefix=unique("ckpt"))
    chat = Chat(saver)
    await chat.ask("one")
    found: list[Any] = []
    worker = threading.Thread(target=lambda: found.append(chat.graph.get_state(chat.config)))
    worker.start()
    while worker.is_alive():
        await asyncio.sleep(0.05)
    assert [m.content for m in found[0].values["messages"]] == transcript("one")
    with pytest.raises(asyncio.InvalidStateError):
        chat.graph.get_state(chat.config)
    await close(saver)


async def test_pruning_frees_old_blobs_but_keeps_every_blob_the_latest_checkpoint_needs(
    kind: str, saver: Saver, servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plans, "BLOB_GRACE", timedelta(0))  # as if the thread were older than the grace
    chat = Chat(saver)
    for question in ("one", "two", "three"):
        await chat.ask(question)
    client: Any = MongoClient(servers.mongo_url)
    blobs = client["memory_tests"][BLOBS]
    before = blobs.count_documents({"thread_id": chat.thread_id})
    await saver.aprune([chat.thread_id], strategy="keep_latest")
    assert 0 < blobs.count_documents({"thread_id": chat.thread_id}) < before
    client.close()
    servers.redis().delete(saver.keys.thread(chat.thread_id), saver.keys.index(chat.thread_id))
    assert await chat.messages() == transcript("one", "two", "three")  # read back from MongoDB alone
