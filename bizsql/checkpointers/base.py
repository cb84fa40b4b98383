"""What every part of the saver shares: key layout, the stored documents and their serialisation.

The layout is that of langgraph's postgres saver: a checkpoint document keeps primitive channel values
inline and points at one blob per (channel, version), so an unchanged message list is stored once, not once
per checkpoint; writes are stored per (checkpoint, task, index). MongoDB holds these documents; Redis holds
the same documents (as BSON) inside one hash per thread, so a thread's blobs expire together with the
checkpoints that reference them and are renewed with every read or write of the thread.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import bson
from bson.codec_options import CodecOptions
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_checkpoint_id,
    get_serializable_checkpoint_metadata,
    writes_sort_key,
)
from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.serde.types import _DeltaSnapshot

Document = dict[str, Any]

SEP = "\x1f"
"""Joins the parts of ids and Redis fields; thread ids and namespaces may not contain it."""
CHECKPOINTS, BLOBS, WRITES = "checkpoints", "checkpoint_blobs", "checkpoint_writes"
STALE = "checkpoint_cache_stale"
"""Threads written to MongoDB while Redis was unreachable: Redis's copy of them must be dropped."""
DEFAULT_PREFIX = "bizsql:ckpt"
BSON_OPTIONS: CodecOptions[Document] = CodecOptions(tz_aware=True)


def join(*parts: str) -> str:
    return SEP.join(parts)


@dataclass(frozen=True)
class Keys:
    """Redis key names. ``{thread_id}`` is a hash tag, so all of a thread's keys share one cluster slot.

    * ``thread(t)`` hash: ``c|ns|id`` checkpoint, ``r|ns|id`` its blob fields (JSON), ``w|ns|id`` "has
      writes", ``b|ns|channel|version`` blob;
    * ``index(t)`` sorted set of ``ns|id`` (lexicographic: the newest checkpoint of a namespace is last);
    * ``writes(t, ns, id)`` hash ``task_id|idx`` -> write;
    * ``queue`` list of writes held for MongoDB (pending), oldest first; ``flush_lock`` guards its flushing;
      ``dead_letters`` keeps queued writes MongoDB rejected.
    """

    prefix: str = DEFAULT_PREFIX

    def thread(self, thread_id: str) -> str:
        return f"{self.prefix}:{{{thread_id}}}"

    def index(self, thread_id: str) -> str:
        return f"{self.prefix}:{{{thread_id}}}:idx"

    def writes_prefix(self, thread_id: str) -> str:
        return f"{self.prefix}:{{{thread_id}}}:w:"

    def writes(self, thread_id: str, checkpoint_ns: str, checkpoint_id: str) -> str:
        return self.writes_prefix(thread_id) + join(checkpoint_ns, checkpoint_id)

    @property
    def queue(self) -> str:
        return f"{self.prefix}:pending"

    @property
    def flush_lock(self) -> str:
        return f"{self.prefix}:flush-lock"

    @property
    def dead_letters(self) -> str:
        """Queued writes MongoDB refused (not an outage: a bad document), kept for an operator."""
        return f"{self.prefix}:pending-failed"


@dataclass(frozen=True)
class Target:
    """Which checkpoint a config names; ``checkpoint_id`` None means the newest of the namespace."""

    thread_id: str
    checkpoint_ns: str
    checkpoint_id: str | None

    @classmethod
    def of(cls, config: RunnableConfig) -> Target:
        conf = config["configurable"]
        target = cls(str(conf["thread_id"]), str(conf.get("checkpoint_ns") or ""), get_checkpoint_id(config))
        if SEP in target.thread_id or SEP in target.checkpoint_ns:
            raise ValueError("thread_id and checkpoint_ns may not contain the 0x1f character")
        return target

    def config(self, checkpoint_id: str) -> RunnableConfig:
        return {
            "configurable": {
                "thread_id": self.thread_id,
                "checkpoint_ns": self.checkpoint_ns,
                "checkpoint_id": checkpoint_id,
            }
        }

    @property
    def doc_id(self) -> str:
        assert self.checkpoint_id is not None
        return join(self.thread_id, self.checkpoint_ns, self.checkpoint_id)


def blob_field(checkpoint_ns: str, channel: str, version: str) -> str:
    return join("b", checkpoint_ns, channel, version)


@dataclass(frozen=True)
class PutDocs:
    """One ``put`` as documents: the checkpoint and the blobs of the channels it changed."""

    target: Target
    checkpoint: Document
    blobs: list[Document]

    @property
    def next_config(self) -> RunnableConfig:
        return self.target.config(self.checkpoint["checkpoint_id"])


def _is_inline(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def dump_checkpoint(
    serde: SerializerProtocol,
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    new_versions: ChannelVersions,
) -> PutDocs:
    """Documents for ``put``: primitives stay in the checkpoint, other values become versioned blobs."""
    parent = Target.of(config)
    thread_id, ns, checkpoint_id = parent.thread_id, parent.checkpoint_ns, checkpoint["id"]
    inline: dict[str, Any] = {}
    blob_values: dict[str, Any] = {}
    for channel, value in checkpoint["channel_values"].items():
        if isinstance(value, _DeltaSnapshot):
            blob_values[channel], inline[channel] = value, True
        elif _is_inline(value):
            inline[channel] = value
        else:
            blob_values[channel] = value
    type_, data = serde.dumps_typed({**checkpoint, "channel_values": inline})
    versions = checkpoint["channel_versions"]
    refs = [[channel, str(versions[channel])] for channel in blob_values if channel in versions]
    now = datetime.now(UTC)
    blobs = [
        blob_doc(thread_id, ns, channel, str(version), serde.dumps_typed(blob_values[channel]), now)
        for channel, version in new_versions.items()
        if channel in blob_values
    ]
    meta = dict(get_serializable_checkpoint_metadata(config, metadata))
    doc: Document = {
        "_id": join(thread_id, ns, checkpoint_id),
        "thread_id": thread_id,
        "checkpoint_ns": ns,
        "checkpoint_id": checkpoint_id,
        "parent_checkpoint_id": parent.checkpoint_id,
        "type": type_,
        "checkpoint": data,
        "metadata": meta,
        "blob_refs": refs,
        "blob_ids": [join(thread_id, ns, channel, version) for channel, version in refs],
        "created_at": now,
    }
    if isinstance(meta.get("run_id"), str):
        doc["run_id"] = meta["run_id"]
    return PutDocs(Target(thread_id, ns, checkpoint_id), doc, blobs)


def blob_doc(
    thread_id: str, ns: str, channel: str, version: str, typed: tuple[str, bytes], at: datetime
) -> Document:
    return {
        "_id": join(thread_id, ns, channel, version),
        "thread_id": thread_id,
        "checkpoint_ns": ns,
        "channel": channel,
        "version": version,
        "type": typed[0],
        "blob": typed[1],
        "created_at": at,
    }


def referenced_blobs(
    serde: SerializerProtocol, docs: PutDocs, checkpoint: Checkpoint, held: Mapping[str, Document]
) -> dict[str, Document]:
    """Every blob ``docs``' checkpoint references, by ``_id``: a Redis copy of that checkpoint alone needs
    them all. Blobs this put wrote or ``held`` has are reused; the rest come from the checkpoint's values."""
    t = docs.target
    written = {b["_id"]: b for b in docs.blobs}
    now = datetime.now(UTC)
    found: dict[str, Document] = {}
    for channel, version in docs.checkpoint["blob_refs"]:
        blob_id = join(t.thread_id, t.checkpoint_ns, channel, version)
        blob = written.get(blob_id) or held.get(blob_id)
        if blob is None:
            typed = serde.dumps_typed(checkpoint["channel_values"][channel])
            blob = blob_doc(t.thread_id, t.checkpoint_ns, channel, version, typed, now)
        found[blob_id] = blob
    return found


def dump_writes(
    serde: SerializerProtocol,
    config: RunnableConfig,
    writes: Sequence[tuple[str, Any]],
    task_id: str,
    task_path: str,
) -> tuple[Target, list[Document]]:
    """Documents for ``put_writes``; special channels (errors, interrupts) get their fixed negative index."""
    target = Target.of(config)
    docs = []
    for idx, (channel, value) in enumerate(writes):
        write_idx = WRITES_IDX_MAP.get(channel, idx)
        type_, blob = serde.dumps_typed(value)
        docs.append(
            {
                "_id": join(target.doc_id, task_id, str(write_idx)),
                "thread_id": target.thread_id,
                "checkpoint_ns": target.checkpoint_ns,
                "checkpoint_id": target.checkpoint_id,
                "checkpoint_key": target.doc_id,
                "task_id": task_id,
                "task_path": task_path,
                "idx": write_idx,
                "channel": channel,
                "type": type_,
                "blob": blob,
            }
        )
    return target, docs


def load_tuple(
    serde: SerializerProtocol,
    doc: Mapping[str, Any],
    blobs: Iterable[Mapping[str, Any]],
    writes: Iterable[Mapping[str, Any]],
) -> CheckpointTuple:
    """A CheckpointTuple from a checkpoint document, its blobs and its writes (either store's)."""
    checkpoint: Checkpoint = serde.loads_typed((doc["type"], doc["checkpoint"]))
    values = dict(checkpoint.get("channel_values") or {})
    for blob in blobs:
        if blob["type"] != "empty":
            values[blob["channel"]] = serde.loads_typed((blob["type"], blob["blob"]))
    checkpoint["channel_values"] = values
    ordered = sorted(writes, key=lambda w: writes_sort_key(w["task_path"], w["task_id"], w["idx"]))
    target = Target(doc["thread_id"], doc["checkpoint_ns"], doc["checkpoint_id"])
    parent_id = doc.get("parent_checkpoint_id")
    return CheckpointTuple(
        config=target.config(doc["checkpoint_id"]),
        checkpoint=checkpoint,
        metadata=doc["metadata"],
        parent_config=target.config(parent_id) if parent_id else None,
        pending_writes=[
            (w["task_id"], w["channel"], serde.loads_typed((w["type"], w["blob"]))) for w in ordered
        ],
    )


def encode(doc: Mapping[str, Any]) -> bytes:
    return bson.encode(doc)


def decode(data: bytes) -> Document:
    return bson.decode(data, codec_options=BSON_OPTIONS)


def refs_json(fields: Sequence[str]) -> str:
    return json.dumps(list(fields))
