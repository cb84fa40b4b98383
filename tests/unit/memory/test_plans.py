"""The queries and commands the savers send, checked where a mistake would cost a user their history."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from bizsql.checkpointers.base import SEP, Keys, dump_checkpoint
from bizsql.checkpointers.plans import index_members, lifetime, list_pipeline, put_commands, warm_commands
from bizsql.stores.conversations import last_messages, title_of

KEYS = Keys("p")


def conf(thread: str = "t", ns: str | None = "", cid: str | None = None) -> Any:
    configurable: dict[str, Any] = {"thread_id": thread}
    if ns is not None:
        configurable["checkpoint_ns"] = ns
    if cid:
        configurable["checkpoint_id"] = cid
    return {"configurable": configurable}


def test_metadata_filters_match_values_and_never_run_operators() -> None:
    pipeline = list_pipeline(conf(), {"source": {"$ne": "x"}, "step": 1}, conf(cid="c9"), 2)
    match = pipeline[0]["$match"]
    assert match["metadata.source"] == {"$eq": {"$ne": "x"}}
    assert match["checkpoint_id"] == {"$lt": "c9"}
    assert {"$limit": 2} in pipeline and pipeline[1] == {"$sort": {"checkpoint_id": -1}}
    assert "checkpoint_ns" not in list_pipeline(conf(ns=None), None, None, None)[0]["$match"]


def test_only_the_newest_checkpoint_read_from_mongo_joins_the_redis_index() -> None:
    doc = dump_checkpoint(JsonPlusSerializer(), conf(), empty_checkpoint(), {}, {}).checkpoint
    doc |= {"_blobs": [], "_writes": []}
    assert not any(c[0] == "ZADD" for c in warm_commands(KEYS, doc, 60, latest=False))
    assert any(c[0] == "ZADD" for c in warm_commands(KEYS, doc, 60, latest=True))


def test_pending_writes_live_without_ttl_and_all_others_expire() -> None:
    assert lifetime(["a"], 60, pending=True) == [("PERSIST", "a")]
    assert lifetime(["a"], 60, pending=False) == [("EXPIRE", "a", 60)]
    docs = dump_checkpoint(JsonPlusSerializer(), conf(), empty_checkpoint(), {}, {})
    assert ("PERSIST", KEYS.thread("t")) in put_commands(KEYS, docs, 60, pending=True)
    assert not any(c[0] == "EXPIRE" for c in put_commands(KEYS, docs, 60, pending=True))


def test_redis_listing_keeps_to_the_namespace_and_pages_backwards() -> None:
    members = [
        f"{ns}{SEP}{cid}".encode() for ns, cid in [("", "c1"), ("", "c3"), ("sub:1", "c2"), ("", "c2")]
    ]
    assert [t.checkpoint_id for t in index_members(members, conf(), None)] == ["c3", "c2", "c1"]
    assert [t.checkpoint_id for t in index_members(members, conf(), conf(cid="c3"))] == ["c2", "c1"]
    every_namespace = index_members(members, conf(ns=None), None)
    assert [t.checkpoint_id for t in every_namespace] == ["c3", "c2", "c2", "c1"]
    assert {t.checkpoint_ns for t in every_namespace} == {"", "sub:1"}


def test_history_windows_count_messages_and_start_on_a_question() -> None:
    history: list[BaseMessage] = [SystemMessage("rules")]
    for i in range(1, 13):
        history += [HumanMessage(f"q{i}"), AIMessage(f"a{i}")]
    assert [m.content for m in last_messages(history, 4)] == ["q11", "a11", "q12", "a12"]
    assert [m.content for m in last_messages(history, 3)] == ["q12", "a12"]
    assert len(last_messages(history, 20)) == 20 and last_messages(history, 20)[0].content == "q3"
    assert last_messages(history, 0) == []
    assert [m.content for m in last_messages(history[:3], 20)] == ["q1", "a1"]


def test_titles_are_one_tidy_line() -> None:
    assert title_of("  How many\n orders   last month? ") == "How many orders last month?"
    long = title_of("word " * 40)
    assert len(long) == 80 and long.endswith("…")
