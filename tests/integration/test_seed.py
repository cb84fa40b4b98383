"""The demo businesses as a user of the database sees them: data, roles and what each role may do."""

from __future__ import annotations

import psycopg
import pytest
from pymongo.errors import DuplicateKeyError

from bizsql.config import Settings
from bizsql.demo import DEMO_BUSINESSES, get_demo_business
from bizsql.demo.seed import reader_role, seed_all, writer_role
from bizsql.stores.mongo import BUSINESS_CONFIGS, USERS, mongo_client
from bizsql.stores.postgres import business_conninfo

pytestmark = pytest.mark.integration


def connect_as(
    settings: Settings, business_id: str, role: str, *, database: str | None = None
) -> psycopg.Connection:
    assert settings.postgres_url
    return psycopg.connect(
        business_conninfo(
            settings.postgres_url, database=database or business_id, role=role,
            secret=settings.secret_values()[1],
        ),
        autocommit=True,
    )  # fmt: skip


def table_counts(settings: Settings, business_id: str) -> dict[str, int]:
    business = get_demo_business(business_id)
    with connect_as(settings, business_id, reader_role(business_id)) as conn:
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in business.tables}  # type: ignore[index]


def test_each_business_has_its_own_database_with_its_tables(seeded: Settings) -> None:
    acme = table_counts(seeded, "acme_retail")
    assert len(acme) >= 12
    assert acme["orders"] >= 50_000
    assert all(count > 0 for count in acme.values()), acme
    for business_id in ("city_clinic", "swift_logistics"):
        counts = table_counts(seeded, business_id)
        assert len(counts) >= 10
        assert all(count > 0 for count in counts.values()), counts


def test_second_seed_changes_nothing(seeded: Settings) -> None:
    before = {b.business_id: table_counts(seeded, b.business_id) for b in DEMO_BUSINESSES}
    report = seed_all(seeded, show_progress=False)
    assert not report.changed, report
    assert {b.business_id: table_counts(seeded, b.business_id) for b in DEMO_BUSINESSES} == before


def test_reader_role_cannot_insert(seeded: Settings) -> None:
    with (
        connect_as(seeded, "acme_retail", reader_role("acme_retail")) as conn,
        pytest.raises((psycopg.errors.InsufficientPrivilege, psycopg.errors.ReadOnlySqlTransaction)),
    ):
        conn.execute("INSERT INTO products (name, category, price) VALUES ('x', 'y', 1)")


def test_reader_role_cannot_create_table(seeded: Settings) -> None:
    with (
        connect_as(seeded, "acme_retail", reader_role("acme_retail")) as conn,
        pytest.raises((psycopg.errors.InsufficientPrivilege, psycopg.errors.ReadOnlySqlTransaction)),
    ):
        conn.execute("CREATE TABLE stolen (id int)")


def test_reader_role_cannot_create_large_objects_that_outlive_its_transaction(seeded: Settings) -> None:
    with (
        connect_as(seeded, "acme_retail", reader_role("acme_retail")) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute("SELECT lo_create(0)")


def test_reader_role_cannot_connect_to_another_business(seeded: Settings) -> None:
    with pytest.raises(psycopg.OperationalError, match=r"permission denied|not permitted"):
        connect_as(seeded, "acme_retail", reader_role("acme_retail"), database="city_clinic")


def test_writer_role_updates_only_its_tables(seeded: Settings) -> None:
    business = get_demo_business("acme_retail")
    with connect_as(seeded, "acme_retail", writer_role("acme_retail")) as conn:
        with conn.transaction(force_rollback=True):
            cur = conn.execute(f"UPDATE {business.writer_tables[0]} SET id = id WHERE id = 1")
            assert cur.rowcount == 1
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE products SET price = price WHERE id = 1")


@pytest.mark.parametrize("business", DEMO_BUSINESSES, ids=lambda b: b.business_id)
def test_every_verified_query_runs_and_returns_rows_as_the_reader(seeded: Settings, business) -> None:  # type: ignore[no-untyped-def]
    assert len(business.verified_queries) >= 10
    with connect_as(seeded, business.business_id, reader_role(business.business_id)) as conn:
        for query in business.verified_queries:
            rows = conn.execute(query.sql).fetchall()
            assert rows, query.question


def test_configs_and_users_are_in_mongo(seeded: Settings) -> None:
    assert seeded.mongo_url
    with mongo_client(seeded.mongo_url) as client:
        db = client[seeded.mongo_db]
        configs = {c["business_id"]: c for c in db[BUSINESS_CONFIGS].find()}
        assert set(configs) >= {"acme_retail", "city_clinic", "swift_logistics"}
        assert [c["allow_writes"] for c in (configs[b] for b in sorted(configs))] == [True, False, False]
        users = {u["username"]: u for u in db[USERS].find()}
        assert users["admin"]["business_id"] == "all"
        assert users["dave"]["role"] == "editor"
        assert users["alice"]["password_hash"].startswith("$argon2")
        with pytest.raises(DuplicateKeyError):
            db[USERS].insert_one({"username": "alice"})
