"""The golden sets themselves: every gold query answers, as the business's reader, the same way every time;
a plan's gold steps are gold queries too."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import sqlglot
from sqlglot import exp

from bizsql.config import Settings
from bizsql.demo import get_demo_business
from bizsql.evals.golden import (
    DIFFICULTIES,
    GoldenPlan,
    GoldenTurn,
    GoldStep,
    available_businesses,
    load_golden,
    tables_in,
)
from bizsql.evals.scoring import canonical, execution_match
from bizsql.sql.json_values import json_rows
from bizsql.stores.postgres import business_conninfo

pytestmark = pytest.mark.integration

GOLDENS = {b: load_golden(b) for b in available_businesses()}
SQL_TURNS = [(b, t) for b, g in GOLDENS.items() for t in g.turns() if t.sql]
VERIFIED_TURNS = [(b, t) for b, t in SQL_TURNS if t.verified_question]
PLAN_STEPS = [(b, p, n) for b, g in GOLDENS.items() for p in g.plans for n in range(1, len(p.steps) + 1)]
"""Every step of every plan: (business, plan, step number)."""
MIN_PLANS = 8


def _ids(cases: list[tuple[str, GoldenTurn]]) -> list[str]:
    return [t.id for _, t in cases]


def _step_ids(cases: list[tuple[str, GoldenPlan, int]]) -> list[str]:
    return [f"{p.id}-s{n}" for _, p, n in cases]


def step_of(plan: GoldenPlan, number: int) -> GoldStep:
    return plan.steps[number - 1]


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


@pytest.mark.parametrize("business", sorted(GOLDENS))
def test_a_golden_set_has_eight_plans_that_need_several_queries(business: str) -> None:
    plans = GOLDENS[business].plans
    assert len(plans) >= MIN_PLANS
    assert all(len(p.steps) >= 2 for p in plans)
    chained = [p for p in plans if any(s.uses for s in p.steps)]
    side_by_side = [p for p in plans if sum(not s.uses for s in p.steps) >= 2]
    assert len(chained) >= MIN_PLANS // 2, "most plans build a step on an earlier one's results"
    assert side_by_side, "some compare results side by side"


@pytest.mark.parametrize(("business", "plan", "number"), PLAN_STEPS, ids=_step_ids(PLAN_STEPS))
def test_each_gold_step_returns_the_same_rows_twice_as_the_reader_role(
    readers: dict[str, psycopg.Connection[Any]], business: str, plan: GoldenPlan, number: int
) -> None:
    sql = step_of(plan, number).sql
    first = run(readers[business], sql)
    assert first, "a gold step must return rows"
    assert len(first) < get_demo_business(business).row_cap
    assert execution_match(sql, first, run(readers[business], sql))


@pytest.mark.parametrize(("business", "plan", "number"), PLAN_STEPS, ids=_step_ids(PLAN_STEPS))
def test_each_gold_steps_tables_list_is_what_its_sql_reads(
    business: str, plan: GoldenPlan, number: int
) -> None:
    step = step_of(plan, number)
    assert sorted(step.tables) == tables_in(step.sql)
    assert set(step.tables) <= set(get_demo_business(business).tables)


def literals(sql: str) -> set[Any]:
    """The SQL's literal values, in the comparable form of a result cell."""
    found = sqlglot.parse_one(sql, read="postgres").find_all(exp.Literal)
    return {canonical(float(lit.this) if lit.is_number else lit.this) for lit in found}


USING_STEPS = [(b, p, n) for b, p, n in PLAN_STEPS if step_of(p, n).uses]


@pytest.mark.parametrize(("business", "plan", "number"), USING_STEPS, ids=_step_ids(USING_STEPS))
def test_a_step_holds_the_values_the_steps_it_uses_return(
    readers: dict[str, psycopg.Connection[Any]], business: str, plan: GoldenPlan, number: int
) -> None:
    """The literals stand for an earlier step's answer: some column of that answer (its ids, a month, a
    state) must be among them, or the demo data has changed under the golden set."""
    step = step_of(plan, number)
    held = literals(step.sql)
    for used in step.uses:
        rows = run(readers[business], step_of(plan, used).sql)
        columns = [{canonical(row[c]) for row in rows} for c in range(len(rows[0]))]
        assert any(column <= held for column in columns), f"step {used}'s answer is not in step {number}"
