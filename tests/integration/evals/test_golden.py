"""The golden sets themselves: every gold query answers, as the business's reader, the same way every time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from bizsql.config import Settings
from bizsql.demo import get_demo_business
from bizsql.evals.golden import DIFFICULTIES, GoldenTurn, available_businesses, load_golden, tables_in
from bizsql.evals.scoring import execution_match
from bizsql.sql.json_values import json_rows
from bizsql.stores.postgres import business_conninfo

pytestmark = pytest.mark.integration

GOLDENS = {b: load_golden(b) for b in available_businesses()}
SQL_TURNS = [(b, t) for b, g in GOLDENS.items() for t in g.turns() if t.sql]
VERIFIED_TURNS = [(b, t) for b, t in SQL_TURNS if t.verified_question]


def _ids(cases: list[tuple[str, GoldenTurn]]) -> list[str]:
    return [t.id for _, t in cases]


@pytest.fixture(scope="module")
def readers(seeded: Settings) -> Iterator[dict[str, psycopg.Connection[Any]]]:
    """One connection per business, as its reader role, with the business's own statement timeout."""
    assert seeded.postgres_url
    _, role_secret = seeded.secret_values()
    conns = {}
    for business_id in GOLDENS:
        demo = get_demo_business(business_id)
        conninfo = business_conninfo(
            seeded.postgres_url,
            database=business_id,
            role=f"bizsql_{business_id}_reader",
            secret=role_secret,
            options=f"-c statement_timeout={demo.statement_timeout_ms}",
        )
        conns[business_id] = psycopg.connect(conninfo, autocommit=True)
    yield conns
    for conn in conns.values():
        conn.close()


def run(conn: psycopg.Connection[Any], sql: str) -> list[list[Any]]:
    return json_rows(conn.execute(sql.encode()).fetchall())


def test_there_are_golden_sets_for_the_three_demo_businesses() -> None:
    assert sorted(GOLDENS) == ["acme_retail", "city_clinic", "swift_logistics"]


@pytest.mark.parametrize("business", sorted(GOLDENS))
def test_a_golden_set_has_forty_questions_eight_conversations_and_every_kind(business: str) -> None:
    golden = GOLDENS[business]
    turns = list(golden.turns())
    database = [t for t in turns if t.intent == "database"]
    assert len(database) >= 40
    assert len(golden.conversations) >= 8
    for difficulty in DIFFICULTIES:
        assert sum(1 for t in database if t.difficulty == difficulty) >= 8, difficulty
    assert any(t.intent == "general" for t in turns)
    assert any(t.intent == "clarify" for t in turns)
    assert any(t.verified_question for t in turns)
    follow_ups = [t for c in golden.conversations for t in c.turns[1:]]
    assert all(t.standalone for t in follow_ups), "every follow-up says what it means on its own"


@pytest.mark.parametrize(("business", "turn"), SQL_TURNS, ids=_ids(SQL_TURNS))
def test_gold_sql_returns_the_same_rows_twice_as_the_reader_role(
    readers: dict[str, psycopg.Connection[Any]], business: str, turn: GoldenTurn
) -> None:
    assert turn.sql
    first = run(readers[business], turn.sql)
    second = run(readers[business], turn.sql)
    assert first, "a gold query must return rows"
    assert len(first) < get_demo_business(business).row_cap, "the whole result must fit under the row cap"
    assert execution_match(turn.sql, first, second)


@pytest.mark.parametrize(("business", "turn"), SQL_TURNS, ids=_ids(SQL_TURNS))
def test_the_tables_list_is_what_the_gold_sql_reads(business: str, turn: GoldenTurn) -> None:
    assert turn.sql
    assert sorted(turn.tables) == tables_in(turn.sql)
    assert set(turn.tables) <= set(get_demo_business(business).tables)


@pytest.mark.parametrize(("business", "turn"), VERIFIED_TURNS, ids=_ids(VERIFIED_TURNS))
def test_a_verified_paraphrase_has_the_verified_querys_answer(
    readers: dict[str, psycopg.Connection[Any]], business: str, turn: GoldenTurn
) -> None:
    """The fast path answers these with the verified SQL, so that SQL must score as correct."""
    assert turn.sql
    verified = {q.question: q.sql for q in get_demo_business(business).verified_queries}
    assert turn.verified_question in verified
    assert turn.question != turn.verified_question, "a paraphrase, not the verified question itself"
    gold = run(readers[business], turn.sql)
    assert execution_match(turn.sql, gold, run(readers[business], verified[turn.verified_question]))
