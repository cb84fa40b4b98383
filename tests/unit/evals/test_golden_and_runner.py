"""The golden file model, thread selection, recall@5 and the token estimate: pure functions, no servers."""

from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import ValidationError

from bizsql.evals.golden import GoldenSet, load_golden, tables_in
from bizsql.evals.runner import recall, select_threads
from bizsql.evals.tokens import EstimateCounter

SQL = "SELECT count(*) FROM orders"


def item(id_: str, question: str, **extra: object) -> dict[str, object]:
    return {"id": id_, "question": question, "sql": SQL, "tables": ["orders"], **extra}


def test_a_database_question_without_gold_sql_is_refused() -> None:
    with pytest.raises(ValidationError, match="needs sql and tables"):
        GoldenSet.model_validate({"business": "b", "questions": [{"id": "q1", "question": "How many?"}]})


def test_a_general_message_with_sql_is_refused() -> None:
    with pytest.raises(ValidationError, match="only database questions"):
        GoldenSet.model_validate({"business": "b", "questions": [item("g1", "Hi!", intent="general")]})


def test_duplicate_ids_and_duplicate_question_texts_are_refused() -> None:
    with pytest.raises(ValidationError, match="duplicate ids"):
        GoldenSet.model_validate({"business": "b", "questions": [item("q1", "A?"), item("q1", "B?")]})
    with pytest.raises(ValidationError, match="duplicate question texts"):
        GoldenSet.model_validate({"business": "b", "questions": [item("q1", "Same?"), item("q2", "same?")]})


def test_a_conversation_needs_at_least_two_turns() -> None:
    with pytest.raises(ValidationError):
        conversation = {"id": "c1", "turns": [item("t1", "A?")]}
        GoldenSet.model_validate({"business": "b", "conversations": [conversation]})


def test_tables_in_leaves_out_cte_names() -> None:
    sql = (
        "WITH m AS (SELECT customer_id FROM orders) "
        "SELECT c.name FROM m JOIN customers c ON c.id = m.customer_id"
    )
    assert tables_in(sql) == ["customers", "orders"]


def test_a_limited_run_spreads_over_the_whole_file_and_keeps_conversations_whole() -> None:
    golden = load_golden("acme_retail")
    threads = list(golden.threads())
    picked = select_threads(golden, 14)
    assert len(picked) == 14
    assert (picked[0], picked[-1]) == (threads[0], threads[-1])
    assert [t.id for t in picked] == [t.id for t in threads if t in picked], "file order kept"
    assert any(len(t.turns) > 1 for t in picked)
    assert {t.turns[0].difficulty for t in picked} >= {"easy", "medium", "hard"}
    assert select_threads(golden, None) == threads
    assert select_threads(golden, 10_000) == threads


@pytest.mark.parametrize("business", ["acme_retail", "city_clinic", "swift_logistics"])
def test_the_held_out_third_is_apart_from_the_rest_and_alike_in_its_mix(business: str) -> None:
    golden = load_golden(business)
    every = [t.id for t in golden.threads()]
    dev = [t.id for t in golden.threads("dev")]
    held = [t.id for t in golden.threads("holdout")]
    assert not set(dev) & set(held)
    assert sorted(dev + held) == sorted(every)
    assert len(held) == len(golden.questions) // 3 + len(golden.conversations) // 3
    kinds = {len(t.turns) > 1 for t in golden.threads("holdout")}
    assert kinds == {True, False}, "both single questions and conversations are held out"
    levels = {t.turns[0].difficulty for t in golden.threads("holdout")}
    assert levels == {"easy", "medium", "hard"}
    limited = select_threads(golden, 5, "holdout")
    assert len(limited) == 5 and {t.id for t in limited} <= set(held)


def test_recall_at_5_counts_gold_tables_among_the_first_five_retrieved() -> None:
    retrieved = ["customers", "stores", "orders", "payments", "returns", "order_items"]
    assert recall(["orders", "customers"], retrieved) == 1.0
    assert recall(["orders", "order_items"], retrieved) == 0.5
    assert recall(["inventory"], retrieved) == 0.0


def test_the_estimate_counts_words_digits_symbols_and_tool_definitions() -> None:
    counter = EstimateCounter()
    assert counter.count_text("") == 0
    assert counter.count_text("SELECT 2025") > counter.count_text("SELECT")
    messages = [SystemMessage("You write SQL."), HumanMessage("How many orders in 2025?")]
    tool = {"type": "function", "function": {"name": "SqlDraft", "parameters": {"type": "object"}}}
    assert counter.count_prompt(messages, [tool]) > counter.count_prompt(messages)
