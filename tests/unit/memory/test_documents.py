"""Checkpoints as stored documents: what becomes a blob, what stays inline, and what comes back."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.base import ERROR, INTERRUPT, empty_checkpoint
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.serde.types import _DeltaSnapshot
from pymongo import UpdateOne

from bizsql.checkpointers.base import (
    SEP,
    Keys,
    Target,
    decode,
    dump_checkpoint,
    dump_writes,
    encode,
    load_tuple,
)
from bizsql.checkpointers.pending import MongoWrite, PendingEntry
from bizsql.checkpointers.plans import put_writes_for, writes_writes_for

SERDE = JsonPlusSerializer()


def checkpoint(values: dict[str, Any], versions: dict[str, Any]) -> Any:
    cp = empty_checkpoint()
    cp["channel_values"] = values
    cp["channel_versions"] = versions
    return cp


def config(thread: str = "t1", ns: str = "", parent: str | None = None) -> Any:
    conf: dict[str, Any] = {"thread_id": thread, "checkpoint_ns": ns}
    if parent:
        conf["checkpoint_id"] = parent
    return {"configurable": conf}


def test_only_changed_non_primitive_channels_become_blobs() -> None:
    messages = [HumanMessage("hi"), AIMessage("hello")]
    cp = checkpoint({"messages": messages, "question": "hi", "attempts": 2, "profile": {"a": 1}},
                    {"messages": "2", "question": "2", "attempts": "1", "profile": "1"})  # fmt: skip
    docs = dump_checkpoint(SERDE, config(parent="p0"), cp, {"source": "loop", "step": 1}, {"messages": "2"})
    assert [b["channel"] for b in docs.blobs] == ["messages"]
    assert docs.checkpoint["blob_refs"] == [["messages", "2"], ["profile", "1"]]
    assert docs.checkpoint["parent_checkpoint_id"] == "p0"
    inline = SERDE.loads_typed((docs.checkpoint["type"], docs.checkpoint["checkpoint"]))["channel_values"]
    assert inline == {"question": "hi", "attempts": 2}


def test_a_stored_checkpoint_comes_back_whole_through_bson() -> None:
    messages = [HumanMessage("hi"), AIMessage("hello", additional_kwargs={"bizsql": {"sql": "SELECT 1"}})]
    cp = checkpoint({"messages": messages, "question": "hi"}, {"messages": "1", "question": "1"})
    docs = dump_checkpoint(
        SERDE, config(), cp, {"source": "input", "step": -1, "run_id": "r1"}, {"messages": "1"}
    )
    _, writes = dump_writes(
        SERDE, docs.next_config, [("answer", {"rows": [1, 2]}), (ERROR, "boom")], "task", "p"
    )
    stored = decode(encode(docs.checkpoint))
    loaded = load_tuple(
        SERDE, stored, [decode(encode(b)) for b in docs.blobs], [decode(encode(w)) for w in writes]
    )
    assert loaded.checkpoint["channel_values"] == {"messages": messages, "question": "hi"}
    assert loaded.metadata == {"source": "input", "step": -1, "run_id": "r1"}
    assert loaded.config["configurable"] == {
        "thread_id": "t1",
        "checkpoint_ns": "",
        "checkpoint_id": cp["id"],
    }
    assert loaded.parent_config is None
    assert loaded.pending_writes == [("task", ERROR, "boom"), ("task", "answer", {"rows": [1, 2]})]
    assert docs.checkpoint["run_id"] == "r1"


def test_pending_writes_come_back_in_langgraphs_order() -> None:
    target = config(parent="c1")
    _, later = dump_writes(SERDE, target, [("x", 1), ("y", 2)], "task-b", "~path-2")
    _, earlier = dump_writes(SERDE, target, [("z", 3)], "task-a", "~path-1")
    cp = dump_checkpoint(SERDE, config(), checkpoint({}, {}), {}, {}).checkpoint | {"checkpoint_id": "c1"}
    loaded = load_tuple(SERDE, cp, [], later + earlier)
    assert [w[1] for w in loaded.pending_writes or []] == ["z", "x", "y"]


def test_a_delta_snapshot_is_a_blob_marked_inline() -> None:
    cp = checkpoint({"log": _DeltaSnapshot(["a", "b"])}, {"log": "3"})
    docs = dump_checkpoint(SERDE, config(), cp, {}, {"log": "3"})
    loaded = load_tuple(SERDE, docs.checkpoint, docs.blobs, [])
    assert loaded.checkpoint["channel_values"]["log"] == _DeltaSnapshot(["a", "b"])


def test_special_writes_replace_and_regular_writes_never_overwrite() -> None:
    _, docs = dump_writes(SERDE, config(parent="c1"), [("a", 1), (INTERRUPT, "wait")], "task", "")
    [write] = writes_writes_for(docs)
    assert [d["channel"] for d in write.insert] == ["a"]
    assert [(d["channel"], d["idx"]) for d in write.replace] == [(INTERRUPT, -3)]


def test_a_queued_entry_replays_the_same_writes_in_the_same_order() -> None:
    cp = checkpoint({"messages": [HumanMessage("hi")]}, {"messages": "1"})
    docs = dump_checkpoint(SERDE, config(), cp, {"step": 0}, {"messages": "1"})
    entry = PendingEntry("put", "t1", put_writes_for(docs), ["k1", "k2"])
    again = PendingEntry.decode(entry.encode())
    assert [w.collection for w in again.writes] == ["checkpoint_blobs", "checkpoints"]
    assert again.writes[1].replace[0]["checkpoint"] == docs.checkpoint["checkpoint"]
    assert (again.op, again.thread_id, list(again.expire), again.entry_id) == (
        "put",
        "t1",
        ["k1", "k2"],
        entry.entry_id,
    )
    requests = MongoWrite.from_doc(again.writes[0].to_doc()).requests()
    assert [type(r) for r in requests] == [UpdateOne]  # $setOnInsert upsert: replaying twice changes nothing


def test_ids_and_keys_keep_a_thread_together_and_refuse_the_separator() -> None:
    keys = Keys("p")
    assert keys.thread("t") == "p:{t}" and keys.index("t").startswith("p:{t}")
    assert keys.writes("t", "ns", "c").startswith("p:{t}:w:")
    with pytest.raises(ValueError):
        Target.of(config(thread=f"bad{SEP}id"))
