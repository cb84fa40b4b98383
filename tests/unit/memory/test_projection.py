"""How checkpoint messages become the conversation document's entries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from bizsql.stores.conversations import META_KEY, project_messages, to_millis

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
ANSWER_META = {"intent": "database", "sql": "SELECT 1", "row_count": 1}


def test_entries_take_their_time_from_the_message_then_the_old_document_then_the_checkpoint() -> None:
    stamped = T0 - timedelta(hours=2)
    known = T0 - timedelta(hours=1)
    messages = [
        HumanMessage("q1", additional_kwargs={META_KEY: {"at": stamped.isoformat()}}),
        AIMessage("a1", additional_kwargs={META_KEY: ANSWER_META}),
        ToolMessage("internal", tool_call_id="x"),
        HumanMessage("q2"),
    ]
    previous = [
        {"role": "user", "content": "q1", "at": T0},
        {"role": "assistant", "content": "a1", "at": known},
        {"role": "user", "content": "something else", "at": known},
    ]
    entries = project_messages(messages, previous, default_at=T0)
    assert [e["content"] for e in entries] == ["q1", "a1", "q2"]
    assert [e["role"] for e in entries] == ["user", "assistant", "user"]
    assert [e["at"] for e in entries] == [to_millis(stamped), known, T0]
    assert (entries[1]["intent"], entries[1]["sql"], entries[1]["row_count"]) == ("database", "SELECT 1", 1)
    assert "sql" not in entries[0]


def test_times_are_cut_to_what_mongodb_keeps() -> None:
    assert to_millis(T0).microsecond == 123000
    assert to_millis(datetime(2026, 3, 1, 12)).tzinfo is UTC
