"""The demo businesses as the seeder sees them, without a database: deterministic rows that fit the DDL,
parent tables before children, and verified SQL that is one read-only, clock-free statement."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from bizsql.demo import DEMO_BUSINESSES, get_demo_business
from bizsql.demo.spec import DemoBusiness

BUSINESS_IDS = [b.business_id for b in DEMO_BUSINESSES]
KEEP_ROWS = {("acme_retail", "orders"), ("acme_retail", "order_items")}


@dataclass
class Generated:
    """One full generation run, reduced to what the tests look at."""

    order: list[str] = field(default_factory=list)
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    first_rows: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    wrong_width: dict[str, int] = field(default_factory=dict)
    kept: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)


def run_generation(business: DemoBusiness) -> Generated:
    result = Generated()
    for table in business.generate(business.rng()):
        result.order.append(table.name)
        result.columns[table.name] = table.columns
        keep = (business.business_id, table.name) in KEEP_ROWS
        kept: list[tuple[Any, ...]] = []
        count = wrong = 0
        for row in table.rows:
            if count == 0:
                result.first_rows[table.name] = tuple(row)
            count += 1
            wrong += len(row) != len(table.columns)
            if keep:
                kept.append(row)
        result.counts[table.name], result.wrong_width[table.name] = count, wrong
        if keep:
            result.kept[table.name] = kept
    return result


def first_rows_only(business: DemoBusiness) -> dict[str, tuple[Any, ...]]:
    return {t.name: tuple(next(iter(t.rows))) for t in business.generate(business.rng())}


@pytest.fixture(scope="module")
def generated() -> dict[str, Generated]:
    return {b.business_id: run_generation(b) for b in DEMO_BUSINESSES}


def create_statements(business: DemoBusiness) -> list[exp.Create]:
    statements = sqlglot.parse(business.schema_sql, read="postgres")
    return [s for s in statements if isinstance(s, exp.Create) and s.kind == "TABLE"]


def table_name(create: exp.Create) -> str:
    return create.this.this.name


def column_types(create: exp.Create) -> dict[str, str]:
    return {c.name: c.args["kind"].sql(dialect="postgres") for c in create.find_all(exp.ColumnDef)}


@pytest.mark.parametrize("business", DEMO_BUSINESSES, ids=BUSINESS_IDS)
def test_generation_is_deterministic(business: DemoBusiness, generated: dict[str, Generated]) -> None:
    assert first_rows_only(business) == generated[business.business_id].first_rows


def test_acme_is_big_enough_to_make_slow_sql_show(generated: dict[str, Generated]) -> None:
    acme = generated["acme_retail"]
    assert len(acme.order) >= 12
    assert acme.counts["orders"] >= 50_000
    assert 2.0 <= acme.counts["order_items"] / acme.counts["orders"] <= 4.0
    assert acme.counts["customers"] >= 4_000


@pytest.mark.parametrize("business_id", ["city_clinic", "swift_logistics"])
def test_other_businesses_have_at_least_ten_tables_of_real_size(
    business_id: str, generated: dict[str, Generated]
) -> None:
    result = generated[business_id]
    assert len(result.order) >= 10
    assert max(result.counts.values()) >= 20_000


@pytest.mark.parametrize("business", DEMO_BUSINESSES, ids=BUSINESS_IDS)
def test_every_listed_table_is_created_and_generated_in_load_order(
    business: DemoBusiness, generated: dict[str, Generated]
) -> None:
    created = [table_name(c) for c in create_statements(business)]
    assert created == list(business.tables)
    assert generated[business.business_id].order == list(business.tables)
    assert all(count > 0 for count in generated[business.business_id].counts.values())


@pytest.mark.parametrize("business", DEMO_BUSINESSES, ids=BUSINESS_IDS)
def test_foreign_keys_point_to_tables_loaded_earlier(business: DemoBusiness) -> None:
    loaded: set[str] = set()
    for create in create_statements(business):
        name = table_name(create)
        for reference in create.find_all(exp.Reference):
            target = reference.find(exp.Table)
            assert target is not None and target.name in loaded | {name}, (name, reference.sql())
        loaded.add(name)


@pytest.mark.parametrize("business", DEMO_BUSINESSES, ids=BUSINESS_IDS)
def test_generated_rows_fit_the_declared_columns(
    business: DemoBusiness, generated: dict[str, Generated]
) -> None:
    result = generated[business.business_id]
    declared = {table_name(c): column_types(c) for c in create_statements(business)}
    for table, columns in result.columns.items():
        assert set(columns) <= set(declared[table]), table
        assert "id" in columns or table == "product_suppliers", table
        assert result.wrong_width[table] == 0, table


@pytest.mark.parametrize("business", DEMO_BUSINESSES, ids=BUSINESS_IDS)
def test_each_business_has_a_jsonb_column_fed_with_json_text(
    business: DemoBusiness, generated: dict[str, Generated]
) -> None:
    result = generated[business.business_id]
    jsonb = [
        (table_name(c), column)
        for c in create_statements(business)
        for column, kind in column_types(c).items()
        if kind.upper() == "JSONB"
    ]
    assert jsonb
    for table, column in jsonb:
        value = result.first_rows[table][result.columns[table].index(column)]
        assert isinstance(json.loads(value), dict)


def test_acme_order_totals_equal_the_sum_of_their_items(generated: dict[str, Generated]) -> None:
    kept = generated["acme_retail"].kept
    sums: dict[int, Decimal] = defaultdict(Decimal)
    for _, order_id, _, quantity, unit_price in kept["order_items"]:
        sums[order_id] += quantity * unit_price
    statuses = set()
    for order in kept["orders"]:
        assert order[8] == sums[order[0]], order
        statuses.add(order[7])
    assert statuses == {"pending", "shipped", "delivered", "cancelled", "returned"}


@pytest.mark.parametrize("business", DEMO_BUSINESSES, ids=BUSINESS_IDS)
def test_verified_queries_are_single_clock_free_selects(business: DemoBusiness) -> None:
    assert len(business.verified_queries) >= 12
    assert len({q.question for q in business.verified_queries}) == len(business.verified_queries)
    for query in business.verified_queries:
        statements = sqlglot.parse(query.sql, read="postgres")
        assert len(statements) == 1, query.question
        tree = statements[0]
        assert isinstance(tree, exp.Query), query.question
        clock = (exp.CurrentDate, exp.CurrentTimestamp, exp.CurrentTime)
        assert not list(tree.find_all(*clock)), query.question
        if tree.args.get("group"):
            assert tree.args.get("order"), f"grouped rows need ORDER BY to be stable: {query.question}"


@pytest.mark.parametrize("business", DEMO_BUSINESSES, ids=BUSINESS_IDS)
def test_business_config_is_complete(business: DemoBusiness) -> None:
    assert 6 <= len(business.glossary) <= 12
    assert business.instructions and business.name and business.description
    assert set(business.writer_tables) <= set(business.tables)
    assert business.allow_writes == bool(business.writer_tables)


def test_only_acme_allows_writes() -> None:
    assert [b.allow_writes for b in DEMO_BUSINESSES] == [True, False, False]
    assert get_demo_business("acme_retail").writer_tables == ("orders", "customers", "inventory")


def test_get_demo_business_finds_each_business_by_id() -> None:
    for business in DEMO_BUSINESSES:
        assert get_demo_business(business.business_id) is business


def test_unknown_business_id_is_a_clear_value_error() -> None:
    with pytest.raises(ValueError, match=r"unknown demo business 'nope'.*acme_retail"):
        get_demo_business("nope")
