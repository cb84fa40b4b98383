"""What the saver holds of threads MongoDB alone took while Redis was down, and how it goes back to Redis."""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.base import Checkpoint, empty_checkpoint
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from structlog.testing import capture_logs

from bizsql.checkpointers.base import (
    Keys,
    PutDocs,
    Target,
    dump_checkpoint,
    dump_writes,
    referenced_blobs,
)
from bizsql.checkpointers.catchup import CatchUp
from bizsql.checkpointers.plans import catch_up_commands
from bizsql.checkpointers.saver_state import BaseRedisMongoSaver

SERDE = JsonPlusSerializer()
KEYS = Keys("p")


def conf(thread: str = "t", cid: str | None = None) -> Any:
    configurable = {"thread_id": thread, "checkpoint_ns": ""}
    return {"configurable": configurable | ({"checkpoint_id": cid} if cid else {})}


def checkpoint(cid: str, versions: dict[str, str], values: dict[str, Any]) -> Checkpoint:
    made = empty_checkpoint()
    made.update(id=cid, channel_versions=versions, channel_values=values)
    return made


def put(held: CatchUp, thread: str, cid: str, changed: dict[str, str], values: dict[str, Any]) -> PutDocs:
    """A put of ``values`` where only ``changed`` channels moved (their blobs are all this put writes)."""
    versions = {channel: "1" for channel in values} | changed
    made = checkpoint(cid, versions, values)
    docs = dump_checkpoint(SERDE, conf(thread), made, {}, changed)
    held.checkpoint(docs, lambda blobs: referenced_blobs(SERDE, docs, made, blobs))
    return docs


def test_a_held_thread_goes_back_to_redis_whole_though_its_put_wrote_one_blob() -> None:
    """The first put of an outage writes only the channels that moved; Redis's copy needs every blob."""
    held = CatchUp()
    put(held, "t", "c1", {"messages": "2"}, {"messages": ["hi"], "profile": {"lang": "fr"}})
    [thread] = held.due()
    commands = catch_up_commands(KEYS, thread, 60)
    assert commands[0][0] == "EVAL" and commands[0][3] == KEYS.thread("t"), "the stale copy goes first"
    fields = commands[1][2::2]
    assert "b\x1f\x1fmessages\x1f2" in fields and "b\x1f\x1fprofile\x1f1" in fields
    assert ("EXPIRE", KEYS.thread("t"), 60) in commands and not any(c[0] == "PERSIST" for c in commands)


def test_only_the_newest_checkpoint_is_held_with_its_writes_and_the_first_regular_write_wins() -> None:
    held = CatchUp()
    put(held, "t", "c1", {"messages": "2"}, {"messages": ["one"]})
    _, first = dump_writes(SERDE, conf(cid="c1"), [("messages", "a")], "task", "")
    held.writes(Target("t", "", "c1"), first)
    put(held, "t", "c2", {"messages": "3"}, {"messages": ["one", "two"]})
    _, mine = dump_writes(SERDE, conf(cid="c2"), [("messages", "b")], "task", "")
    _, retried = dump_writes(SERDE, conf(cid="c2"), [("messages", "retried")], "task", "")
    held.writes(Target("t", "", "c2"), mine)
    held.writes(Target("t", "", "c2"), retried)
    put(held, "t", "c1", {"messages": "2"}, {"messages": ["one"]})  # a late put of an older checkpoint
    [thread] = held.due()
    space = thread.namespaces[""]
    assert space.checkpoint is not None and space.checkpoint["checkpoint_id"] == "c2"
    assert [w["blob"] for w in space.writes.values()] == [mine[0]["blob"]]
    assert list(space.blobs) == ["t\x1f\x1fmessages\x1f3"], "blobs of older checkpoints are let go"


def test_past_its_limit_the_least_recently_written_thread_is_let_go_with_a_warning() -> None:
    held = CatchUp(limit=2)
    for thread in ("a", "b"):
        put(held, thread, "c1", {"messages": "2"}, {"messages": [thread]})
    put(held, "a", "c2", {"messages": "3"}, {"messages": ["a", "again"]})
    with capture_logs() as logs:
        put(held, "c", "c1", {"messages": "2"}, {"messages": ["c"]})
    assert [t.thread_id for t in held.due()] == ["a", "c"]
    assert [(e["log_level"], e["thread_id"]) for e in logs] == [("warning", "b")]


def test_a_thread_written_again_while_it_went_to_redis_stays_due() -> None:
    held = CatchUp()
    put(held, "t", "c1", {"messages": "2"}, {"messages": ["one"]})
    [snapshot] = held.due()
    put(held, "t", "c2", {"messages": "3"}, {"messages": ["one", "two"]})
    assert not held.done(snapshot)
    [again] = held.due()
    assert held.done(again) and not held.due()


def test_the_heal_spares_a_caught_up_thread_only_for_the_mark_this_process_left() -> None:
    """Another process's mark, or one left before a restart, means Redis may lack a newer write: drop."""
    saver = BaseRedisMongoSaver(ttl_seconds=60, retry_seconds=1.0, key_prefix="p", serde=None)
    for thread in ("mine", "theirs", "written-again"):
        put(saver._catch_up, thread, "c1", {"messages": "2"}, {"messages": [thread]})
        saver._stale_local.add(thread)
    for held in saver._catch_up.due():
        saver._caught_up_with(held)
    assert not saver._stale_local and not saver._catch_up
    put(saver._catch_up, "written-again", "c2", {"messages": "3"}, {"messages": ["again"]})
    saver._caught_up.discard("written-again")  # as _mark_stale does: caught up no more
    markers = [
        {"_id": "mine", "mark": saver._mark},
        {"_id": "theirs", "mark": "another process"},
        {"_id": "written-again", "mark": saver._mark},
        {"_id": "before-a-restart"},
    ]
    assert saver._stale_by_marks(markers) == {"theirs", "written-again", "before-a-restart"}
