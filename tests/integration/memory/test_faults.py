"""A conversation loses no turn when Redis or MongoDB goes away mid-conversation, and says so when both do."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from prometheus_client import REGISTRY
from pymongo import AsyncMongoClient, MongoClient, monitoring
from structlog.testing import capture_logs

from bizsql.checkpointers import AsyncRedisMongoSaver, RedisMongoSaver
from bizsql.checkpointers.base import CHECKPOINTS
from bizsql.checkpointers.clients import HEARTBEAT_MS, async_redis_client, mongo_client, redis_client
from bizsql.embedded import free_port
from bizsql.errors import MemoryUnavailable
from tests.integration.memory.conftest import (
    RETRY_SECONDS,
    Chat,
    Saver,
    Servers,
    body,
    close,
    make_saver,
    transcript,
    unique,
)

pytestmark = pytest.mark.integration


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
async def fault_saver(kind: str, fault_servers: Servers) -> AsyncIterator[Saver]:
    made = make_saver(kind, fault_servers, key_prefix=unique("ckpt"))
    yield made
    await close(made)


async def flush_until_empty(saver: Any, attempts: int = 50) -> int:
    """Flush until the queue is empty (the first tries may find MongoDB's client still reconnecting)."""
    flushed = 0
    for _ in range(attempts):
        flushed += await saver.aflush_pending()
        if saver.redis_health.is_down is False and body(saver)._pending == "empty":
            return flushed
        await asyncio.sleep(RETRY_SECONDS)
    raise AssertionError("pending writes never reached MongoDB")


async def past_backoff() -> None:
    """Let the breaker's back-off pass and pymongo's monitor see a restarted server (it checks each second;
    the async client's monitor is a task, so this sleep must not block the loop)."""
    await asyncio.sleep(max(RETRY_SECONDS, HEARTBEAT_MS / 1000) + 0.5)


async def test_redis_stopped_mid_conversation_keeps_every_turn(
    fault_servers: Servers, fault_saver: Any
) -> None:
    chat = Chat(fault_saver)
    await chat.ask("before 1")
    await chat.ask("before 2")
    fault_servers.valkey.stop()
    degraded = metric("bizsql_memory_degraded_calls_total", store="redis", op="get_tuple")
    with capture_logs() as logs:
        await chat.ask("during 3")
        assert await chat.ask("during 4") == transcript("before 1", "before 2", "during 3", "during 4")
    warnings = [
        e for e in logs if e["log_level"] == "warning" and e["event"].startswith("conversation store down")
    ]
    assert len(warnings) == 1 and warnings[0]["store"] == "redis"
    assert metric("bizsql_memory_degraded_calls_total", store="redis", op="get_tuple") >= degraded + 2
    fault_servers.valkey.start()
    assert fault_servers.redis().exists(fault_saver.keys.thread(chat.thread_id)), "Redis kept turn 2's copy"
    await past_backoff()
    await chat.ask("after 5")
    assert await chat.ask("after 6") == transcript(
        "before 1", "before 2", "during 3", "during 4", "after 5", "after 6"
    )
    assert await chat.messages() == transcript(
        "before 1", "before 2", "during 3", "during 4", "after 5", "after 6"
    )


async def test_another_process_never_serves_the_copy_redis_kept_from_before_its_outage(
    fault_servers: Servers,
) -> None:
    writer = make_saver("async", fault_servers, key_prefix="shared")
    chat = Chat(writer)
    await chat.ask("one")
    fault_servers.valkey.stop()
    await chat.ask("two")  # MongoDB only; Redis still holds turn one
    fault_servers.valkey.start()
    assert fault_servers.redis().exists(writer.keys.thread(chat.thread_id)), "Redis kept turn one's copy"
    fresh = make_saver("sync", fault_servers, key_prefix="shared")  # a process started after the outage
    assert await Chat(fresh, chat.thread_id).messages() == transcript("one", "two")
    await close(writer)
    await close(fresh)


async def test_mongo_stopped_for_three_turns_then_all_three_reach_mongo_in_order(
    kind: str, fault_servers: Servers
) -> None:
    listener = InsertOrder()
    saver = saver_with_listener(kind, fault_servers, listener)
    chat = Chat(saver)
    await chat.ask("one")
    fault_servers.mongo.stop()
    for question in ("two", "three", "four"):
        await chat.ask(question)
    r = fault_servers.redis()
    assert r.llen(saver.keys.queue) > 0
    assert r.ttl(saver.keys.thread(chat.thread_id)) == -1, "pending data must not expire"
    fault_servers.mongo.start()
    listener.ids.clear()
    assert await flush_until_empty(saver) > 0
    assert listener.ids == sorted(listener.ids), "queued checkpoints must reach MongoDB oldest first"
    assert 0 < r.ttl(saver.keys.thread(chat.thread_id)) <= 3600
    assert await mongo_only_messages(fault_servers, chat.thread_id) == transcript(
        "one", "two", "three", "four"
    )
    await close(saver)


async def test_the_next_write_flushes_what_waited_for_mongo_before_itself(fault_servers: Servers) -> None:
    saver = make_saver("async", fault_servers, key_prefix=unique("ckpt"))
    chat = Chat(saver)
    await chat.ask("one")
    fault_servers.mongo.stop()
    await chat.ask("two")
    fault_servers.mongo.start()
    await past_backoff()
    await chat.ask("three")
    assert fault_servers.redis().llen(saver.keys.queue) == 0
    assert await mongo_only_messages(fault_servers, chat.thread_id) == transcript("one", "two", "three")
    await close(saver)


async def test_background_flush_brings_pending_turns_to_mongo_without_another_turn(
    fault_servers: Servers,
) -> None:
    saver = make_saver("async", fault_servers, key_prefix=unique("ckpt"))
    assert isinstance(saver, AsyncRedisMongoSaver)
    chat = Chat(saver)
    await chat.ask("one")
    fault_servers.mongo.stop()
    await chat.ask("two")
    flusher = asyncio.create_task(saver.flush_forever(0.2))
    fault_servers.mongo.start()
    for _ in range(100):
        if fault_servers.redis().llen(saver.keys.queue) == 0:
            break
        await asyncio.sleep(0.1)
    flusher.cancel()
    assert await mongo_only_messages(fault_servers, chat.thread_id) == transcript("one", "two")
    await close(saver)


async def test_both_stores_down_is_memory_unavailable(
    kind: str, fault_servers: Servers, fault_saver: Any
) -> None:
    chat = Chat(fault_saver)
    await chat.ask("one")
    fault_servers.stop()
    with pytest.raises(MemoryUnavailable):
        await chat.ask("two")
    fault_servers.valkey.start()
    fault_servers.mongo.start()
    await past_backoff()
    assert await chat.ask("two") == transcript("one", "two")


@pytest.mark.parametrize("redis_back_off", [RETRY_SECONDS, 60.0], ids=["redis-found-up", "redis-half-opened"])
async def test_one_conversation_keeps_every_turn_through_redis_down_then_mongo_down_straight_after(
    kind: str, fault_servers: Servers, fault_saver: Any, redis_back_off: float
) -> None:
    """The issue's scenario. Turns one and two reach MongoDB alone; MongoDB fails as Redis comes back, so
    the saver must write what it kept of them into Redis before reading it. A 60 s back-off stands for
    "MongoDB failed within Redis's back-off": then only MongoDB's failure half-opens Redis (stopping
    SecantusDB cleanly takes longer than the default 2 s)."""
    fault_saver.redis_health.retry_seconds = redis_back_off
    chat = Chat(fault_saver)
    asked: list[str] = []
    fault_servers.valkey.stop()
    for question in ("one", "two"):
        asked.append(question)
        assert await chat.ask(question) == transcript(*asked)
    fault_servers.valkey.start()
    fault_servers.mongo.stop()
    for question in ("three", "four", "five"):
        asked.append(question)
        assert await chat.ask(question) == transcript(*asked)
    from_redis = await checkpoint_ids(fault_saver, chat)
    fault_servers.mongo.start()
    await flush_until_empty(fault_saver)
    every_turn = transcript("one", "two", "three", "four", "five")
    served_by_redis = metric("bizsql_memory_reads_total", source="redis")
    assert await chat.messages() == every_turn
    assert metric("bizsql_memory_reads_total", source="redis") == served_by_redis + 1, "caught up, not healed"
    assert await mongo_only_messages(fault_servers, chat.thread_id) == every_turn
    assert (await checkpoint_ids(fault_saver, chat))[: len(from_redis)] == from_redis


async def test_catching_up_replaces_redis_stale_copy_and_spares_a_thread_redis_kept(
    kind: str, fault_servers: Servers, fault_saver: Any
) -> None:
    """Redis still holds ``chat`` from before its outage: that copy is replaced, never served or mixed in.
    ``idle`` was not written during the outage, so Redis's copy of it is right and keeps serving it."""
    fault_saver.redis_health.retry_seconds = 60.0
    chat, idle = Chat(fault_saver), Chat(fault_saver)
    await chat.ask("zero")
    await idle.ask("first")
    fault_servers.valkey.stop()
    await chat.ask("one")
    await chat.ask("two")
    fault_servers.valkey.start()
    fault_servers.mongo.stop()
    assert await chat.ask("three") == transcript("zero", "one", "two", "three")
    assert await idle.ask("second") == transcript("first", "second")
    from_redis = await checkpoint_ids(fault_saver, chat)
    fault_servers.mongo.start()
    await flush_until_empty(fault_saver)
    assert (await checkpoint_ids(fault_saver, chat))[: len(from_redis)] == from_redis, "no pre-outage copy"
    assert await mongo_only_messages(fault_servers, chat.thread_id) == transcript(
        "zero", "one", "two", "three"
    )
    assert await mongo_only_messages(fault_servers, idle.thread_id) == transcript("first", "second")


async def test_with_mongo_down_a_thread_redis_does_not_hold_is_unavailable_not_empty(
    fault_servers: Servers,
) -> None:
    """Answering "no such thread" would start the conversation over and hide its history for good."""
    saver = make_saver("async", fault_servers, key_prefix=unique("ckpt"))
    old = Chat(saver)
    await old.ask("one")
    fault_servers.redis().flushdb()
    fault_servers.mongo.stop()
    with pytest.raises(MemoryUnavailable, match="MongoDB"):
        await old.ask("two")
    fault_servers.mongo.start()
    await past_backoff()
    assert await old.ask("two") == transcript("one", "two")
    await close(saver)


class InsertOrder(monitoring.CommandListener):
    """Records the checkpoint ids MongoDB receives, in the order it receives them."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "update" and event.command.get("update") == CHECKPOINTS:
            self.ids += [u["q"]["_id"].rsplit("\x1f", 1)[-1] for u in event.command.get("updates", [])]

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def saver_with_listener(kind: str, servers: Servers, listener: InsertOrder) -> Saver:
    options: Any = {"db_name": "memory_tests", "key_prefix": unique("ckpt"), "owns_clients": True}
    options["retry_seconds"] = RETRY_SECONDS
    mongo_options: Any = {"serverSelectionTimeoutMS": 500, "heartbeatFrequencyMS": HEARTBEAT_MS}
    mongo_options["event_listeners"] = [listener]
    if kind == "sync":
        mongo = MongoClient(servers.mongo_url, **mongo_options)
        return RedisMongoSaver(redis_client(servers.redis_url), mongo, **options)
    amongo = AsyncMongoClient(servers.mongo_url, **mongo_options)
    return AsyncRedisMongoSaver(async_redis_client(servers.redis_url), amongo, **options)


async def checkpoint_ids(saver: Any, chat: Chat) -> list[str]:
    """The thread's checkpoint ids, newest first, as ``list`` finds them (Redis's while MongoDB is down)."""
    return [t.config["configurable"]["checkpoint_id"] async for t in saver.alist(chat.config)]


async def mongo_only_messages(servers: Servers, thread_id: str) -> list[str]:
    """The thread as MongoDB alone has it: read through a saver whose Redis does not exist."""
    dead_redis = redis_client(f"redis://127.0.0.1:{free_port()}/0")
    saver = RedisMongoSaver(
        dead_redis, mongo_client(servers.mongo_url), db_name="memory_tests", owns_clients=True
    )
    with saver:
        return await Chat(saver, thread_id).messages()
