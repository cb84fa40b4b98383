"""Read-only views of Redis for /debug: server-wide cache figures, and what the cache holds for one thread.

Nothing here renews a TTL or warms the cache: the thread view reads keys directly instead of going through
the checkpointer (whose reads refresh the thread's TTL).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bizsql.checkpointers import AsyncRedisMongoSaver
from bizsql.checkpointers.base import SEP, blob_field, decode, join
from bizsql.errors import ServiceUnavailable
from bizsql.metrics import REGISTRY

FIELD_KINDS = {"c": "checkpoints", "r": "blob_refs", "w": "write_markers", "b": "blobs"}
MAX_WRITE_KEYS = 1000


def _ratio(hits: float, misses: float) -> float | None:
    return round(hits / (hits + misses), 4) if hits + misses else None


def _sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def cache_stats(redis: aioredis.Redis, checkpointer: AsyncRedisMongoSaver) -> dict[str, Any]:
    """Redis's own counters, and the checkpointer's reads by where they were served from (this process)."""
    try:
        stats, memory, keys = await redis.info("stats"), await redis.info("memory"), await redis.dbsize()
        pending = await redis.llen(checkpointer.keys.queue)
    except RedisError as exc:
        raise ServiceUnavailable(f"Redis does not answer: {type(exc).__name__}") from exc
    hits, misses = int(stats.get("keyspace_hits", 0)), int(stats.get("keyspace_misses", 0))
    from_redis = _sample("bizsql_memory_reads_total", {"source": "redis"})
    from_mongo = _sample("bizsql_memory_reads_total", {"source": "mongo"})
    return {
        "redis": {
            "keyspace_hits": hits,
            "keyspace_misses": misses,
            "hit_ratio": _ratio(hits, misses),
            "keys": int(keys),
            "expired_keys": int(stats.get("expired_keys", 0)),
            "evicted_keys": int(stats.get("evicted_keys", 0)),
            "used_memory_bytes": int(memory.get("used_memory", 0)),
            "used_memory_human": memory.get("used_memory_human"),
            "maxmemory_bytes": int(memory.get("maxmemory", 0)),
        },
        "conversation_cache": {
            "hits": int(from_redis),
            "misses": int(from_mongo),
            "new_threads": int(_sample("bizsql_memory_reads_total", {"source": "none"})),
            "hit_ratio": _ratio(from_redis, from_mongo),
            "ttl_seconds": checkpointer.ttl,
            "pending_writes": int(pending),
        },
    }


async def thread_view(
    redis: aioredis.Redis, checkpointer: AsyncRedisMongoSaver, thread_id: str
) -> dict[str, Any]:
    """The thread's keys with their TTLs and sizes, and a summary of its newest checkpoint in Redis."""
    keys = checkpointer.keys
    thread_key, index_key = keys.thread(thread_id), keys.index(thread_id)
    try:
        write_keys = [k async for k in redis.scan_iter(match=f"{keys.writes_prefix(thread_id)}*", count=500)]
        described = [
            await _describe(redis, key) for key in [thread_key, index_key, *write_keys[:MAX_WRITE_KEYS]]
        ]
        fields = [_text(f) for f in await redis.hkeys(thread_key)]
        newest = await redis.zrevrangebylex(index_key, f"({chr(0x20)}", f"[{SEP}", start=0, num=1)
        latest = await _latest(redis, checkpointer, thread_key, _text(newest[0]) if newest else None)
    except RedisError as exc:
        raise ServiceUnavailable(f"Redis does not answer: {type(exc).__name__}") from exc
    present = [k for k in described if k["exists"]]
    kinds = Counter(FIELD_KINDS.get(f.split(SEP, 1)[0], "other") for f in fields)
    return {
        "thread_id": thread_id,
        "cached": bool(present),
        "ttl_seconds": min((k["ttl_seconds"] for k in present if k["ttl_seconds"] >= 0), default=None),
        "configured_ttl_seconds": checkpointer.ttl,
        "keys": present,
        "fields": dict(kinds),
        "latest_checkpoint": latest,
    }


async def _describe(redis: aioredis.Redis, key: str) -> dict[str, Any]:
    async with redis.pipeline(transaction=False) as pipe:
        pipe.type(key)
        pipe.ttl(key)
        pipe.memory_usage(key)
        kind, ttl, size = await pipe.execute()
    kind = _text(kind)
    return {"key": key, "exists": kind != "none", "type": kind, "ttl_seconds": int(ttl), "bytes": size}


async def _latest(
    redis: aioredis.Redis, checkpointer: AsyncRedisMongoSaver, thread_key: str, member: str | None
) -> dict[str, Any] | None:
    """The newest checkpoint of the root namespace: its id, time, step and the messages it holds."""
    if member is None:
        return None
    raw = await redis.hget(thread_key, join("c", member))
    if raw is None:
        return None
    doc = decode(_bytes(raw))
    metadata = doc.get("metadata") or {}
    view: dict[str, Any] = {
        "checkpoint_id": doc.get("checkpoint_id"),
        "created_at": doc.get("created_at"),
        "step": metadata.get("step"),
        "source": metadata.get("source"),
        "channels": [channel for channel, _ in doc.get("blob_refs") or []],
    }
    versions = dict(doc.get("blob_refs") or [])
    if "messages" in versions:
        blob = await redis.hget(thread_key, blob_field("", "messages", versions["messages"]))
        if blob is not None:
            stored = decode(_bytes(blob))
            messages = checkpointer.serde.loads_typed((stored["type"], stored["blob"]))
            view["messages"] = len(messages)
            view["last_message"] = {"type": messages[-1].type, "content": str(messages[-1].content)[:500]}
    return view


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()
