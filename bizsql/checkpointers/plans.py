"""The Redis commands and MongoDB queries both savers send, built once here (the savers only do the I/O)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import get_checkpoint_id
from pymongo import ASCENDING, DESCENDING, IndexModel

from bizsql.checkpointers.base import (
    BLOBS,
    CHECKPOINTS,
    SEP,
    STALE,
    WRITES,
    Document,
    Keys,
    PutDocs,
    Target,
    blob_field,
    decode,
    encode,
    join,
    refs_json,
)
from bizsql.checkpointers.catchup import HeldThread
from bizsql.checkpointers.pending import MongoWrite
from bizsql.checkpointers.scripts import DELETE_THREAD, GET_CHECKPOINT

Command = tuple[Any, ...]
Commands = list[Command]

INDEXES: dict[str, list[IndexModel]] = {
    CHECKPOINTS: [
        IndexModel([("thread_id", ASCENDING), ("checkpoint_ns", ASCENDING), ("checkpoint_id", DESCENDING)],
                   name="thread_ns_newest"),
        IndexModel([("thread_id", ASCENDING), ("checkpoint_id", DESCENDING)], name="thread_newest"),
        IndexModel([("run_id", ASCENDING)], name="run_id", sparse=True),
    ],
    BLOBS: [IndexModel([("thread_id", ASCENDING), ("checkpoint_ns", ASCENDING)], name="thread_ns")],
    WRITES: [
        IndexModel([("checkpoint_key", ASCENDING)], name="checkpoint_key"),
        IndexModel([("thread_id", ASCENDING)], name="thread"),
    ],
    STALE: [],
}  # fmt: skip

BLOB_GRACE = timedelta(minutes=5)

_LOOKUPS: list[Document] = [
    {"$lookup": {"from": BLOBS, "localField": "blob_ids", "foreignField": "_id", "as": "_blobs"}},
    {"$lookup": {"from": WRITES, "localField": "_id", "foreignField": "checkpoint_key", "as": "_writes"}},
]
"""A checkpoint with its blobs and writes in one round trip."""


# --- Redis ---------------------------------------------------------------------------------------------


def lifetime(keys: Iterable[str], ttl: int, *, pending: bool) -> list[Command]:
    """Pending keys live without TTL until MongoDB has their data; all others expire after ``ttl``."""
    return [("PERSIST", k) if pending else ("EXPIRE", k, ttl) for k in keys]


def _flat(mapping: Mapping[str, Any]) -> list[Any]:
    return [part for pair in mapping.items() for part in pair]


def put_commands(keys: Keys, docs: PutDocs, ttl: int, *, pending: bool) -> list[Command]:
    t = docs.target
    assert t.checkpoint_id is not None
    key = join(t.checkpoint_ns, t.checkpoint_id)
    fields: dict[str, Any] = {
        join("c", key): encode(docs.checkpoint),
        join("r", key): refs_json(
            [blob_field(t.checkpoint_ns, c, v) for c, v in docs.checkpoint["blob_refs"]]
        ),
    }
    for blob in docs.blobs:
        fields[blob_field(t.checkpoint_ns, blob["channel"], blob["version"])] = encode(blob)
    thread, index = keys.thread(t.thread_id), keys.index(t.thread_id)
    commands: list[Command] = [("HSET", thread, *_flat(fields)), ("ZADD", index, 0, key)]
    return commands + lifetime((thread, index), ttl, pending=pending)


def put_expire_keys(keys: Keys, target: Target) -> list[str]:
    return [keys.thread(target.thread_id), keys.index(target.thread_id)]


def writes_commands(
    keys: Keys, target: Target, docs: Sequence[Document], ttl: int, *, pending: bool
) -> list[Command]:
    """Regular writes never overwrite (a retried task keeps its first result); errors and interrupts do."""
    assert target.checkpoint_id is not None
    wkey = keys.writes(target.thread_id, target.checkpoint_ns, target.checkpoint_id)
    commands: list[Command] = [
        ("HSET" if d["idx"] < 0 else "HSETNX", wkey, join(d["task_id"], str(d["idx"])), encode(d))
        for d in docs
    ]
    thread = keys.thread(target.thread_id)
    commands.append(("HSET", thread, join("w", target.checkpoint_ns, target.checkpoint_id), "1"))
    return commands + lifetime(writes_expire_keys(keys, target), ttl, pending=pending)


def writes_expire_keys(keys: Keys, target: Target) -> list[str]:
    assert target.checkpoint_id is not None
    wkey = keys.writes(target.thread_id, target.checkpoint_ns, target.checkpoint_id)
    return [keys.thread(target.thread_id), keys.index(target.thread_id), wkey]


def delete_thread_command(keys: Keys, thread_id: str) -> Command:
    return (
        "EVAL",
        DELETE_THREAD,
        2,
        keys.thread(thread_id),
        keys.index(thread_id),
        keys.writes_prefix(thread_id),
    )


def catch_up_commands(keys: Keys, held: HeldThread, ttl: int) -> list[Command]:
    """Replace Redis's (stale) copy of a thread with what MongoDB alone took while Redis was down: drop it,
    then write it as ``put`` and ``put_writes`` do, with the normal TTL. One transaction per thread."""
    t = held.thread_id
    commands: list[Command] = [delete_thread_command(keys, t)]
    for ns, space in held.namespaces.items():
        if space.checkpoint is not None:
            target = Target(t, ns, space.checkpoint["checkpoint_id"])
            docs = PutDocs(target, space.checkpoint, list(space.blobs.values()))
            commands += put_commands(keys, docs, ttl, pending=False)
        by_checkpoint: dict[str, list[Document]] = {}
        for write in space.writes.values():
            by_checkpoint.setdefault(write["checkpoint_id"], []).append(write)
        for checkpoint_id, writes in by_checkpoint.items():
            commands += writes_commands(keys, Target(t, ns, checkpoint_id), writes, ttl, pending=False)
    return commands


def get_command(keys: Keys, target: Target, ttl: int) -> Command:
    """GET_CHECKPOINT as a plain EVAL, for pipelines (no script cache to miss after a Redis restart)."""
    script_keys, args = get_args(keys, target, ttl)
    return ("EVAL", GET_CHECKPOINT, len(script_keys), *script_keys, *args)


def get_args(keys: Keys, target: Target, ttl: int) -> tuple[list[str], list[Any]]:
    """KEYS and ARGV of the GET_CHECKPOINT script."""
    t = target.thread_id
    return [keys.thread(t), keys.index(t)], [
        target.checkpoint_ns,
        target.checkpoint_id or "",
        ttl,
        keys.writes_prefix(t),
    ]


def decode_hit(raw: Sequence[Any] | None) -> tuple[Document, list[Document], list[Document]] | None:
    """(checkpoint, blobs, writes) from the script's reply, or None on a miss (or an incomplete copy)."""
    if not raw or int(raw[0]) != 1:
        return None
    _, _, checkpoint, writes, blobs = raw
    return decode(checkpoint), [decode(b) for b in blobs], [decode(w) for w in writes]


def warm_commands(keys: Keys, doc: Document, ttl: int, *, latest: bool) -> list[Command]:
    """Put a checkpoint read from MongoDB back into Redis; only the newest joins the index, so an old
    checkpoint warmed into an otherwise expired thread can never pass for the thread's latest."""
    t = Target(doc["thread_id"], doc["checkpoint_ns"], doc["checkpoint_id"])
    ns, key = t.checkpoint_ns, join(t.checkpoint_ns, doc["checkpoint_id"])
    blobs, writes = doc.get("_blobs", []), doc.get("_writes", [])
    stored = {k: v for k, v in doc.items() if not k.startswith("_") or k == "_id"}
    fields: dict[str, Any] = {
        join("c", key): encode(stored),
        join("r", key): refs_json([blob_field(ns, b["channel"], b["version"]) for b in blobs]),
    }
    fields.update({blob_field(ns, b["channel"], b["version"]): encode(b) for b in blobs})
    thread = keys.thread(t.thread_id)
    expire = [thread]
    commands: list[Command] = []
    if writes:
        fields[join("w", key)] = "1"
        wkey = keys.writes(t.thread_id, ns, doc["checkpoint_id"])
        write_fields = {join(w["task_id"], str(w["idx"])): encode(w) for w in writes}
        commands.append(("HSET", wkey, *_flat(write_fields)))
        expire.append(wkey)
    commands.insert(0, ("HSET", thread, *_flat(fields)))
    if latest:
        commands.append(("ZADD", keys.index(t.thread_id), 0, key))
        expire.append(keys.index(t.thread_id))
    return commands + lifetime(expire, ttl, pending=False)


def index_members(
    members: Iterable[bytes | str], config: RunnableConfig, before: RunnableConfig | None
) -> list[Target]:
    """The index entries a Redis ``list`` should read (only used while MongoDB is down), newest first."""
    conf = config["configurable"]
    thread_id, ns = str(conf["thread_id"]), conf.get("checkpoint_ns")
    exact, upto = get_checkpoint_id(config), get_checkpoint_id(before) if before else None
    found = []
    for member in members:
        text = member.decode() if isinstance(member, bytes) else member
        member_ns, _, cid = text.rpartition(SEP)
        if ns is not None and member_ns != ns:
            continue
        if (exact and cid != exact) or (upto and cid >= upto):
            continue
        found.append(Target(thread_id, member_ns, cid))
    return sorted(found, key=lambda t: t.checkpoint_id or "", reverse=True)


def metadata_matches(metadata: Mapping[str, Any], wanted: Mapping[str, Any] | None) -> bool:
    return all(metadata.get(k) == v for k, v in (wanted or {}).items())


# --- MongoDB -------------------------------------------------------------------------------------------


def get_pipeline(target: Target) -> list[Document]:
    if target.checkpoint_id:
        return [{"$match": {"_id": target.doc_id}}, *_LOOKUPS]
    match = {"thread_id": target.thread_id, "checkpoint_ns": target.checkpoint_ns}
    return [{"$match": match}, {"$sort": {"checkpoint_id": -1}}, {"$limit": 1}, *_LOOKUPS]


def list_pipeline(
    config: RunnableConfig | None,
    filter: Mapping[str, Any] | None,
    before: RunnableConfig | None,
    limit: int | None,
) -> list[Document]:
    """``list`` as one aggregation, newest first; metadata filters are exact equality (never operators)."""
    match: Document = {}
    id_conditions: Document = {}
    if config:
        conf = config["configurable"]
        match["thread_id"] = str(conf["thread_id"])
        if conf.get("checkpoint_ns") is not None:
            match["checkpoint_ns"] = conf["checkpoint_ns"]
        if exact := get_checkpoint_id(config):
            id_conditions["$eq"] = exact
    if before and (upto := get_checkpoint_id(before)):
        id_conditions["$lt"] = upto
    if id_conditions:
        match["checkpoint_id"] = id_conditions
    for key, value in (filter or {}).items():
        match[f"metadata.{key}"] = {"$eq": value}
    pipeline: list[Document] = [{"$match": match}, {"$sort": {"checkpoint_id": -1}}]
    if limit is not None:
        pipeline.append({"$limit": int(limit)})
    return pipeline + _LOOKUPS


def put_writes_for(docs: PutDocs) -> list[MongoWrite]:
    """Blobs first: a crash in between leaves unused blobs, never a checkpoint without its blobs."""
    return [MongoWrite(BLOBS, insert=docs.blobs), MongoWrite(CHECKPOINTS, replace=[docs.checkpoint])]


def writes_writes_for(docs: Sequence[Document]) -> list[MongoWrite]:
    regular = [d for d in docs if d["idx"] >= 0]
    special = [d for d in docs if d["idx"] < 0]
    return [MongoWrite(WRITES, insert=regular, replace=special)]


def delete_writes_for(thread_id: str) -> list[MongoWrite]:
    return [MongoWrite(c, delete=[{"thread_id": thread_id}]) for c in (CHECKPOINTS, WRITES, BLOBS)]


def copy_docs(
    thread_id: str, checkpoints: Sequence[Document], blobs: Sequence[Document], writes: Sequence[Document]
) -> list[MongoWrite]:
    """One thread's documents re-keyed for another (``copy_thread``): blobs, writes, then checkpoints."""

    def moved(doc: Document, *parts: str) -> Document:
        return {**doc, "_id": join(thread_id, *parts), "thread_id": thread_id}

    new_blobs = [moved(b, b["checkpoint_ns"], b["channel"], b["version"]) for b in blobs]
    new_writes = [
        {
            **moved(w, w["checkpoint_ns"], w["checkpoint_id"], w["task_id"], str(w["idx"])),
            "checkpoint_key": join(thread_id, w["checkpoint_ns"], w["checkpoint_id"]),
        }
        for w in writes
    ]
    new_checkpoints = [
        {
            **moved(c, c["checkpoint_ns"], c["checkpoint_id"]),
            "blob_ids": [join(thread_id, c["checkpoint_ns"], ch, v) for ch, v in c["blob_refs"]],
        }
        for c in checkpoints
    ]
    return [
        MongoWrite(BLOBS, replace=new_blobs),
        MongoWrite(WRITES, replace=new_writes),
        MongoWrite(CHECKPOINTS, replace=new_checkpoints),
    ]


def latest_per_namespace(checkpoints: Iterable[Document]) -> set[str]:
    """``_id`` of the newest checkpoint of each namespace (what ``prune(keep_latest)`` keeps)."""
    newest: dict[str, Document] = {}
    for c in checkpoints:
        kept = newest.get(c["checkpoint_ns"])
        if kept is None or c["checkpoint_id"] > kept["checkpoint_id"]:
            newest[c["checkpoint_ns"]] = c
    return {c["_id"] for c in newest.values()}


PRUNE_FIELDS = {"checkpoint_ns": 1, "checkpoint_id": 1, "metadata.counters_since_delta_snapshot": 1}


def uses_delta_channels(checkpoints: Iterable[Document]) -> bool:
    """DeltaChannel state is rebuilt from ancestors; pruning them would silently empty it."""
    return any((c.get("metadata") or {}).get("counters_since_delta_snapshot") for c in checkpoints)


def orphan_blobs_filter(thread_id: str, referenced: Iterable[str]) -> Document:
    """Blobs of a thread no checkpoint references any more. Blobs younger than ``BLOB_GRACE`` are spared:
    ``put`` writes blobs before their checkpoint, which may be on its way."""
    cutoff = datetime.now(UTC) - BLOB_GRACE
    return {"thread_id": thread_id, "_id": {"$nin": sorted(set(referenced))}, "created_at": {"$lt": cutoff}}
