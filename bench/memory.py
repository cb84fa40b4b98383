"""Conversation memory: get_tuple from Redis (warm) against MongoDB (cold), and put to both stores.

    python bench/memory.py [--threads 1000] [--turns 20] [--sync] [--faults]
                           [--redis-url URL --mongo-url URL]

Writes ``threads`` conversations of ``turns`` turns (one checkpoint per turn, its message list growing by a
question and an answer with SQL, as the chat graph's does), timing each put (MongoDB, then Redis). Then it
reads every thread's latest checkpoint with Redis warm; drops Redis's copy and reads each again (a Redis
miss, MongoDB, and Redis warmed again: what a user meets after an hour away); and reads each with Redis
down (MongoDB alone). Goal: a warm read at least 3x faster than a cold one. ``--faults`` (bench-owned
servers only) measures what a dead store costs: the first call after it stops, then calls while the
breaker skips it. Without URLs it starts its own Valkey and SecantusDB in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.base import empty_checkpoint
from prometheus_client import REGISTRY
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bizsql.checkpointers import AsyncRedisMongoSaver, RedisMongoSaver
from bizsql.embedded import SecantusServer, ValkeyServer, free_port
from bizsql.errors import MemoryUnavailable

console = Console()
SQL = (
    "SELECT c.region, date_trunc('month', o.order_date) AS month, sum(o.total) AS revenue "
    "FROM orders o JOIN customers c ON c.id = o.customer_id GROUP BY 1, 2 ORDER BY 2 DESC, 3 DESC LIMIT 50"
)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


class Memory:
    """The saver under test behind one async interface, whichever class it is."""

    def __init__(self, saver: AsyncRedisMongoSaver | RedisMongoSaver) -> None:
        self.saver = saver
        self.is_async = isinstance(saver, AsyncRedisMongoSaver)

    async def call(self, name: str, *args: Any) -> Any:
        if self.is_async:
            return await getattr(self.saver, f"a{name}")(*args)
        return getattr(self.saver, name)(*args)

    async def close(self) -> None:
        if isinstance(self.saver, AsyncRedisMongoSaver):
            await self.saver.aclose()
        elif isinstance(self.saver, RedisMongoSaver):
            self.saver.close()


def make(kind: str, redis_url: str, mongo_url: str, prefix: str, **options: Any) -> Memory:
    cls = AsyncRedisMongoSaver if kind == "async" else RedisMongoSaver
    return Memory(cls.from_urls(redis_url, mongo_url, db_name="bizsql_bench", key_prefix=prefix, **options))


def thread_config(thread_id: str) -> Any:
    return {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}


async def write_threads(memory: Memory, threads: list[str], turns: int) -> list[float]:
    """Every thread's turns, one put per turn; returns each put's latency in ms."""
    latencies = []
    for thread_id in threads:
        messages: list[Any] = []
        checkpoint = empty_checkpoint()
        parent: Any = thread_config(thread_id)
        version: Any = None
        for turn in range(1, turns + 1):
            question = f"Which region grew fastest in month {turn}, and by how much compared with last year?"
            answer = f"North grew fastest in month {turn}: revenue rose 12.4% to 48,210 over last year. " * 2
            meta = {"bizsql": {"intent": "database", "sql": SQL, "row_count": 12}}
            messages = [*messages, HumanMessage(question), AIMessage(answer, additional_kwargs=meta)]
            version = memory.saver.get_next_version(version, None)
            values = {
                "messages": messages,
                "question": question,
                "intent": "database",
                "sql": SQL,
                "row_count": 12,
            }
            checkpoint = {**empty_checkpoint(), "channel_values": values,
                          "channel_versions": {k: version for k in values}}  # fmt: skip
            started = time.perf_counter()
            parent = await memory.call(
                "put", parent, checkpoint, {"source": "loop", "step": turn}, dict.fromkeys(values, version)
            )
            latencies.append((time.perf_counter() - started) * 1000)
    return latencies


async def read_all(memory: Memory, threads: list[str], expect_turns: int) -> list[float]:
    latencies = []
    for thread_id in threads:
        started = time.perf_counter()
        found = await memory.call("get_tuple", thread_config(thread_id))
        latencies.append((time.perf_counter() - started) * 1000)
        assert found is not None and len(found.checkpoint["channel_values"]["messages"]) == 2 * expect_turns
    return latencies


def drop_redis_copies(memory: Memory) -> None:
    import redis

    client = redis.Redis.from_url(memory_urls["redis"])
    keys = list(client.scan_iter(match=f"{memory.saver.keys.prefix}:*", count=1000))
    for start in range(0, len(keys), 1000):
        client.delete(*keys[start : start + 1000])


memory_urls: dict[str, str] = {}


def flushed_so_far() -> float:
    return REGISTRY.get_sample_value("bizsql_memory_flushed_writes_total") or 0.0


def row(table: Table, what: str, values: list[float], note: str = "") -> None:
    table.add_row(
        what, f"{len(values)}", f"{statistics.median(values):.2f}", f"{percentile(values, 99):.2f}", note
    )


async def bench(args: argparse.Namespace) -> None:
    prefix = f"bench-{uuid.uuid4().hex[:6]}"
    memory = make(args.kind, memory_urls["redis"], memory_urls["mongo"], prefix)
    if isinstance(memory.saver, AsyncRedisMongoSaver):
        await memory.saver.asetup()
    elif isinstance(memory.saver, RedisMongoSaver):
        memory.saver.setup()
    threads = [f"{prefix}-{i}" for i in range(args.threads)]
    console.print(
        f"Writing {args.threads} threads x {args.turns} turns with {type(memory.saver).__name__}..."
    )
    started, held = time.perf_counter(), flushed_so_far()
    puts = await write_threads(memory, threads, args.turns)
    console.print(f"  {len(puts)} puts in {time.perf_counter() - started:.1f} s")
    if flushed_so_far() > held:
        waited = flushed_so_far() - held
        console.print(f"  [yellow]{waited:.0f} writes waited in Redis (MongoDB missed a timeout)[/]")
    await read_all(memory, threads[:50], args.turns)  # warm-up: connections, script cache
    warm = await read_all(memory, threads, args.turns)
    drop_redis_copies(memory)
    cold = await read_all(memory, threads, args.turns)
    rewarmed = await read_all(memory, threads, args.turns)
    dead_redis = make(
        args.kind, f"redis://127.0.0.1:{free_port()}/0", memory_urls["mongo"], prefix, retry_seconds=3600
    )
    await read_all(dead_redis, threads[:1], args.turns)
    mongo_only = await read_all(dead_redis, threads, args.turns)
    await dead_redis.close()
    await memory.close()

    table = Table(
        title=f"Conversation memory: {args.threads} threads x {args.turns} turns ({args.kind} saver)"
    )
    for column in ("operation", "calls", "p50 ms", "p99 ms", ""):
        table.add_column(column, justify="right" if column in ("calls", "p50 ms", "p99 ms") else "left")
    row(table, "put (MongoDB + Redis)", puts)
    row(table, "get_tuple, Redis warm", warm)
    row(table, "get_tuple, Redis cold", cold, "miss, MongoDB, warm Redis again")
    row(table, "get_tuple, warm again", rewarmed)
    row(table, "get_tuple, Redis down", mongo_only, "MongoDB alone (breaker open)")
    console.print(table)
    ratio = statistics.median(cold) / statistics.median(warm)
    verdict = "[green]goal met[/]" if ratio >= 3 else "[red]below the 3x goal[/]"
    console.print(f"Cold / warm p50: {ratio:.1f}x ({verdict}); MongoDB-alone / warm p50: "
                  f"{statistics.median(mongo_only) / statistics.median(warm):.1f}x")  # fmt: skip


async def timed(make_call: Callable[[], Awaitable[Any]]) -> tuple[float, str]:
    started = time.perf_counter()
    try:
        await make_call()
        outcome = "ok"
    except MemoryUnavailable:
        outcome = "MemoryUnavailable"
    return (time.perf_counter() - started) * 1000, outcome


async def bench_faults(args: argparse.Namespace, valkey: ValkeyServer, mongo: SecantusServer) -> None:
    """What a stopped store costs: one timeout, then the breaker skips it."""
    table = Table(title="A store stops (default timeouts: 500 ms; breaker back-off 2 s)")
    for column in ("event", "ms", "outcome"):
        table.add_column(column, justify="right" if column == "ms" else "left")
    prefix = f"faults-{uuid.uuid4().hex[:6]}"
    memory = make(args.kind, memory_urls["redis"], memory_urls["mongo"], prefix)
    await write_threads(memory, ["f-1"], 3)
    mongo.stop()
    ms, outcome = await timed(lambda: memory.call("get_tuple", thread_config("f-1")))
    table.add_row("MongoDB stopped: read of a warm thread", f"{ms:.1f}", outcome + " (from Redis)")
    puts = await write_threads(memory, ["f-2"], 5)
    table.add_row("MongoDB stopped: first put (pays the timeout)", f"{puts[0]:.1f}", "held in Redis")
    table.add_row(
        "MongoDB stopped: next puts (breaker open), p50",
        f"{statistics.median(puts[1:]):.1f}",
        "held in Redis",
    )
    await memory.close()
    memory_urls["mongo"] = mongo.start()
    memory = make(args.kind, memory_urls["redis"], memory_urls["mongo"], prefix)
    flushed = await memory.call("flush_pending", None)
    table.add_row("MongoDB back on a new port: flush", "", f"{flushed} writes flushed")
    valkey.stop()
    ms, outcome = await timed(lambda: memory.call("get_tuple", thread_config("f-2")))
    table.add_row("Redis stopped: first read", f"{ms:.1f}", outcome + " (from MongoDB)")
    reads = [(await timed(lambda: memory.call("get_tuple", thread_config("f-2"))))[0] for _ in range(20)]
    table.add_row(
        "Redis stopped: next reads (breaker open), p50", f"{statistics.median(reads):.1f}", "from MongoDB"
    )
    mongo.stop()
    ms, outcome = await timed(lambda: memory.call("get_tuple", thread_config("f-2")))
    table.add_row("Both stopped: a read", f"{ms:.1f}", outcome)
    await memory.close()
    console.print(table)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1000)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--sync", dest="kind", action="store_const", const="sync", default="async")
    parser.add_argument("--redis-url")
    parser.add_argument("--mongo-url")
    parser.add_argument(
        "--faults", action="store_true", help="also stop each store (bench-owned servers only)"
    )
    args = parser.parse_args()
    if bool(args.redis_url) != bool(args.mongo_url):
        parser.error("give both --redis-url and --mongo-url, or neither")
    with tempfile.TemporaryDirectory(prefix="bizsql-bench-") as tmp:
        valkey, mongo = (
            ValkeyServer("valkey", Path(tmp) / "valkey"),
            SecantusServer("secantus", Path(tmp) / "mongo"),
        )
        try:
            if args.redis_url:
                memory_urls.update(redis=args.redis_url, mongo=args.mongo_url)
            else:
                memory_urls.update(redis=valkey.start(), mongo=mongo.start())
            await bench(args)
            if args.faults and not args.redis_url:
                await bench_faults(args, valkey, mongo)
        finally:
            valkey.stop()
            mongo.stop()


if __name__ == "__main__":
    asyncio.run(main())
