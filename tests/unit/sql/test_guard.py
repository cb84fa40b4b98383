"""The guard on its own: every attack refused for a reason a user can act on, every honest query accepted."""

from __future__ import annotations

import json
import re

import pytest

from bizsql.sql.guard import check_sql, judge_sql
from bizsql.sql.policy import ALLOWED_FUNCTIONS, BLOCKED_FUNCTIONS
from tests.corpora import Attack, Legit, attacks, legit_queries

GUARD_ATTACKS = [a for a in attacks() if a.stage == "guard"]


@pytest.mark.parametrize("attack", GUARD_ATTACKS, ids=lambda a: a.id)
def test_attack_is_refused_with_its_specific_reason(attack: Attack) -> None:
    verdict = check_sql(attack.sql, allow_writes=attack.user == "dave")
    assert not verdict.allowed
    assert re.search(attack.reason, verdict.reason, re.IGNORECASE), verdict.reason


@pytest.mark.parametrize("query", legit_queries(), ids=lambda q: q.id)
def test_legitimate_query_is_accepted_as_a_read(query: Legit) -> None:
    verdict = check_sql(query.sql)
    assert verdict.allowed, verdict.reason
    assert verdict.kind == "read"


def test_corpora_are_big_enough_to_mean_something() -> None:
    assert len(attacks()) >= 150
    assert len(legit_queries()) >= 150


def test_keyword_inside_a_string_or_quoted_name_is_not_a_false_alarm() -> None:
    for sql in (
        "SELECT id FROM orders WHERE notes = 'drop off at back door'",
        "SELECT id FROM orders WHERE notes ILIKE '%delete the gift receipt%'",
        'SELECT "drop", "create" FROM orders',
        "SELECT $$TRUNCATE everything$$ AS label",
        "SELECT 'GRANT' AS word, E'COMMIT\\n' AS escaped",
    ):
        assert check_sql(sql).allowed, sql


def test_keyword_hidden_in_a_comment_is_caught() -> None:
    verdict = check_sql("SELECT 1 /* then TRUNCATE orders */")
    assert not verdict.allowed
    assert verdict.reason == "TRUNCATE is not allowed, even in a comment"


def test_refusal_reasons_name_the_problem() -> None:
    assert check_sql("DROP TABLE orders").reason == "DROP is not allowed"
    assert check_sql("SELECT 1; SELECT 2").reason == "only one statement per request"
    assert check_sql("").reason == "the statement is empty"
    assert check_sql("SELECT pg_sleep(5)").reason.startswith(
        "pg_sleep() is not allowed: it makes the server wait"
    )
    assert "could not parse the SQL" in check_sql("SELECT FROM WHERE").reason


def test_verdict_is_the_json_shape_the_cli_prints() -> None:
    verdict = check_sql("SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id")
    assert json.loads(verdict.model_dump_json()) == {
        "allowed": True,
        "kind": "read",
        "reason": "allowed: a read statement",
        "tables": ["customers", "orders"],
        "retryable": False,
    }


def test_cte_names_are_not_reported_as_tables() -> None:
    verdict = check_sql("WITH recent AS (SELECT * FROM orders) SELECT * FROM recent JOIN stores ON true")
    assert verdict.tables == ["orders", "stores"]


def test_writes_need_permission_and_a_where_clause() -> None:
    update = "UPDATE orders SET notes = 'late' WHERE id = 7"
    refused = check_sql(update)
    assert (refused.allowed, refused.kind) == (False, "write")
    assert "writes are not allowed" in refused.reason
    allowed = check_sql(update, allow_writes=True)
    assert (allowed.allowed, allowed.kind, allowed.tables) == (True, "write", ["orders"])
    assert check_sql("DELETE FROM orders", allow_writes=True).reason == "DELETE needs a WHERE clause"
    assert (
        "must test a column" in check_sql("UPDATE orders SET total = 0 WHERE 1 = 1", allow_writes=True).reason
    )
    assert check_sql("INSERT INTO orders (notes) VALUES ('x') RETURNING id", allow_writes=True).allowed


def test_truncate_and_merge_are_never_writes_we_allow() -> None:
    assert not check_sql("TRUNCATE orders", allow_writes=True).allowed
    merge = "MERGE INTO orders o USING stores s ON o.store_id = s.id WHEN MATCHED THEN DELETE"
    assert not check_sql(merge, allow_writes=True).allowed


def test_explain_is_a_read_but_explain_analyze_is_refused() -> None:
    judged = judge_sql("EXPLAIN (FORMAT JSON) SELECT * FROM orders")
    verdict = judged.verdict
    assert (verdict.allowed, verdict.kind, verdict.tables, judged.verb) == (
        True,
        "read",
        ["orders"],
        "EXPLAIN",
    )
    assert judged.statement == "SELECT * FROM orders"  # what the cost ceiling prices
    assert check_sql("EXPLAIN (ANALYZE false) SELECT 1").allowed
    for sql in (
        "EXPLAIN ANALYZE SELECT 1",
        "EXPLAIN (VERBOSE, ANALYZE) SELECT 1",
        "EXPLAIN ANALYSE SELECT 1",
    ):
        assert check_sql(sql).reason == "EXPLAIN ANALYZE runs the statement and is not allowed", sql


def test_only_safe_information_schema_views_and_settings_are_readable() -> None:
    assert check_sql("SELECT table_name FROM information_schema.tables").allowed
    assert not check_sql("SELECT * FROM information_schema.role_table_grants").allowed
    assert check_sql("SELECT current_setting('TimeZone')").allowed
    assert "only " in check_sql("SELECT current_setting('server_version')").reason


def test_generated_lengths_are_bounded() -> None:
    assert check_sql("SELECT lpad(sku, 8, '0') FROM products").allowed
    assert check_sql("SELECT repeat('-', 10000)").allowed
    assert "over 10,000" in check_sql("SELECT repeat('-', 10001)").reason
    assert "literal length" in check_sql("SELECT repeat('-', quantity) FROM order_items").reason


def test_unknown_functions_are_refused_by_the_allowlist() -> None:
    verdict = check_sql("SELECT my_custom_function(1)")
    assert verdict.reason == "my_custom_function() is not on the list of allowed functions"


def test_other_schemas_are_refused_unless_named() -> None:
    sql = "SELECT * FROM sales.orders"
    assert check_sql(sql).reason == "schema sales is not allowed; only public"
    assert check_sql(sql, schemas={"public", "sales"}).allowed


def test_no_function_is_both_blocked_and_allowed() -> None:
    assert not set(BLOCKED_FUNCTIONS) & ALLOWED_FUNCTIONS


def test_function_names_are_read_right_after_non_ascii_text() -> None:
    assert check_sql("SELECT '日本語 café 😀' AS label, count(*) FROM orders").allowed
    assert "version()" in check_sql("SELECT 'ñandú 😀', version()").reason


def test_casts_to_catalog_types_are_refused_but_user_types_are_not() -> None:
    assert check_sql("SELECT 'north'::region_name, '{}'::jsonb, 1::numeric(10, 2)").allowed
    assert (
        check_sql("SELECT 'pg_authid'::regclass").reason
        == "casts to the system type regclass are not allowed"
    )


def test_statement_words_that_are_also_column_names_still_work_as_columns() -> None:
    assert check_sql("SELECT cluster, checkpoint, notify, merge, listen FROM customer_segments").allowed
    assert check_sql("CLUSTER orders").reason == "CLUSTER is not allowed; only SELECT queries may run"
    assert not check_sql("NOTIFY orders_channel").allowed
