"""RedisMongoSaver is AsyncRedisMongoSaver on a loop thread of its own: options, clients, the thread's life.

No server is needed: nothing listens on these ports, and the clients connect only when used.
"""

from __future__ import annotations

import asyncio
import gc
import threading
from typing import Any

import pytest
from langgraph.checkpoint.conformance.test_utils import (
    generate_checkpoint,
    generate_config,
    generate_metadata,
)
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from pymongo import MongoClient, monitoring
from pymongo.errors import InvalidOperation

from bizsql.checkpointers import RedisMongoSaver
from bizsql.checkpointers.clients import redis_client
from bizsql.embedded import free_port
from bizsql.errors import MemoryUnavailable

CONFIG: Any = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}


def dead_urls() -> tuple[str, str]:
    return f"redis://127.0.0.1:{free_port()}/0", f"mongodb://127.0.0.1:{free_port()}/?directConnection=true"


def loop_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "RedisMongoSaver-loop"]


class Listener(monitoring.CommandListener):
    def started(self, event: monitoring.CommandStartedEvent) -> None:
        pass

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def test_from_urls_hands_every_option_to_the_async_saver() -> None:
    redis_url, mongo_url = dead_urls()
    with RedisMongoSaver.from_urls(
        redis_url, mongo_url, ttl_seconds=7, db_name="other", redis_timeout_ms=123, mongo_timeout_ms=321,
        retry_seconds=0.5, key_prefix="p",
    ) as saver:  # fmt: skip
        inner = saver.async_saver
        assert (saver.ttl, saver.keys.prefix, inner.db.name) == (7, "p", "other")
        assert saver.redis_health is inner.redis_health and saver.redis_health.retry_seconds == 0.5
        assert inner.redis.connection_pool.connection_kwargs["socket_timeout"] == 0.123
        assert inner.mongo.options.server_selection_timeout == 0.321
        assert saver.get_next_version(None, None) < saver.get_next_version("1.0", None)


def test_blocking_clients_handed_in_are_used_through_asyncio_twins_with_their_options() -> None:
    port, listener = free_port(), Listener()
    mongo_url = f"mongodb://127.0.0.1:{free_port()}/"
    given_redis = redis_client(f"redis://127.0.0.1:{port}/3", timeout_ms=250)
    given_mongo = MongoClient(mongo_url, serverSelectionTimeoutMS=300, event_listeners=[listener])
    saver = RedisMongoSaver(given_redis, given_mongo, db_name="given", owns_clients=True)
    inner = saver.async_saver
    options = inner.redis.connection_pool.connection_kwargs
    assert (options["port"], options["db"], options["socket_timeout"]) == (port, 3, 0.25)
    assert options["retry"].get_retries() == 1
    assert inner.mongo.options.server_selection_timeout == 0.3
    assert listener in inner.mongo.options.event_listeners
    assert inner.db.name == "given"
    saver.close()
    with pytest.raises(InvalidOperation):  # owns_clients: the given clients are closed too
        given_mongo.list_database_names()


def test_close_and_the_with_block_stop_the_loop_thread() -> None:
    before = len(loop_threads())
    saver = RedisMongoSaver.from_urls(*dead_urls())
    assert len(loop_threads()) == before + 1
    saver.close()
    saver.close()  # idempotent
    assert len(loop_threads()) == before
    with RedisMongoSaver.from_urls(*dead_urls()):
        assert len(loop_threads()) == before + 1
    assert len(loop_threads()) == before


def test_a_saver_nobody_closed_stops_its_thread_once_collected() -> None:
    saver = RedisMongoSaver.from_urls(*dead_urls())
    loop_thread = saver._loop_thread
    assert loop_thread.is_alive
    del saver
    gc.collect()
    assert not loop_thread.is_alive


def test_a_bad_option_raises_and_leaves_no_thread_behind() -> None:
    before = len(loop_threads())
    with pytest.raises(ValueError, match="ttl_seconds"):
        RedisMongoSaver.from_urls(*dead_urls(), ttl_seconds=0)
    assert len(loop_threads()) == before


def test_a_closed_saver_refuses_calls_instead_of_hanging() -> None:
    saver = RedisMongoSaver.from_urls(*dead_urls())
    saver.close()
    with pytest.raises(RuntimeError, match="closed"):
        saver.get_tuple(CONFIG)


def test_a_blocking_call_from_the_loop_thread_itself_raises_instead_of_deadlocking() -> None:
    with RedisMongoSaver.from_urls(*dead_urls()) as saver:

        async def blocking_inside(_: Any) -> None:
            saver.get_tuple(CONFIG)

        with pytest.raises(RuntimeError, match="wait for itself"):
            saver._call(blocking_inside)


async def test_with_both_stores_down_sync_and_async_calls_say_memory_unavailable() -> None:
    values = {"messages": ["hi"]}
    checkpoint = generate_checkpoint(channel_values=values, channel_versions={"messages": 1})
    args = (generate_config("t"), checkpoint, generate_metadata(), {"messages": 1})
    with RedisMongoSaver.from_urls(*dead_urls(), mongo_timeout_ms=100, retry_seconds=60) as saver:
        with pytest.raises(MemoryUnavailable):
            saver.put(*args)
        with pytest.raises(MemoryUnavailable):
            await saver.aput(*args)
        assert saver.redis_health.is_down and saver.mongo_health.is_down


def test_a_clone_with_an_allowlist_has_its_own_serde_on_the_same_clients() -> None:
    """langgraph derives such a clone (strict msgpack mode); the async saver is the one that serialises."""
    serde = JsonPlusSerializer(allowed_msgpack_modules=[("a_module", "AType")])
    with RedisMongoSaver.from_urls(*dead_urls(), serde=serde) as saver:
        clone = saver.with_allowlist([("my_module", "MyType")])
        assert isinstance(clone, RedisMongoSaver)
        assert clone.async_saver is not saver.async_saver
        assert clone.serde is clone.async_saver.serde
        assert clone.async_saver.redis is saver.async_saver.redis


def test_a_clone_keeps_working_after_its_original_is_dropped() -> None:
    """``RedisMongoSaver.from_urls(...).with_allowlist(...)`` keeps only the clone: its loop must live on."""
    serde = JsonPlusSerializer(allowed_msgpack_modules=[("a_module", "AType")])
    clone = RedisMongoSaver.from_urls(*dead_urls(), serde=serde).with_allowlist([("my_module", "MyType")])
    gc.collect()
    try:
        assert clone._loop_thread.is_alive
        assert clone.get_next_version(None, None).startswith("0" * 31 + "1.")
    finally:
        clone.close()


def test_a_call_cut_off_by_close_says_the_saver_closed_not_cancelled() -> None:
    with RedisMongoSaver.from_urls(*dead_urls()) as saver:
        started = threading.Event()

        async def slow(_: Any) -> None:
            started.set()
            await asyncio.sleep(30)

        caught: list[BaseException] = []

        def call() -> None:
            try:
                saver._call(slow)
            except BaseException as exc:
                caught.append(exc)

        caller = threading.Thread(target=call)
        caller.start()
        assert started.wait(5)
    caller.join(15)
    assert len(caught) == 1 and isinstance(caught[0], RuntimeError), caught
    assert "closed" in str(caught[0])
