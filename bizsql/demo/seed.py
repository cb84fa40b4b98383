"""Create the demo businesses: databases, roles, data, configs and users. Safe and fast to run again.

A database counts as seeded once its COMMENT carries our marker; the data goes in within one transaction,
so a crash leaves either nothing or everything.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql
from pymongo.database import Database
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bizsql.auth.passwords import hash_password
from bizsql.config import Settings
from bizsql.demo import DEMO_BUSINESSES
from bizsql.demo.spec import DemoBusiness, TableData
from bizsql.stores.mongo import BUSINESS_CONFIGS, USERS, Document, ensure_indexes, mongo_client
from bizsql.stores.postgres import role_password

SEED_MARKER = "bizsql demo data v1"
ROW_REPORT_EVERY = 5000
TEMP_FILE_LIMIT = "256MB"  # generate_series in FROM spills every row to disk before the row cap applies
DEMO_USERS: tuple[dict[str, str], ...] = (
    {"username": "admin", "role": "admin", "business_id": "all"},
    {"username": "alice", "role": "analyst", "business_id": "acme_retail"},
    {"username": "bob", "role": "analyst", "business_id": "city_clinic"},
    {"username": "carol", "role": "analyst", "business_id": "swift_logistics"},
    {"username": "dave", "role": "editor", "business_id": "acme_retail"},
)


class SeedError(RuntimeError):
    """Seeding cannot go on without a person deciding (e.g. a database that is not ours)."""


@dataclass
class SeedReport:
    """What a seed run did, so a second run can show that it changed nothing."""

    databases_created: list[str] = field(default_factory=list)
    data_loaded: dict[str, int] = field(default_factory=dict)
    roles_created: list[str] = field(default_factory=list)
    configs_changed: int = 0
    users_created: int = 0
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(
            self.databases_created or self.data_loaded or self.roles_created
            or self.configs_changed or self.users_created
        )  # fmt: skip


def reader_role(business_id: str) -> str:
    return f"bizsql_{business_id}_reader"


def writer_role(business_id: str) -> str:
    return f"bizsql_{business_id}_writer"


def seed_all(
    settings: Settings, businesses: Iterable[DemoBusiness] = DEMO_BUSINESSES, *, show_progress: bool = True
) -> SeedReport:
    """Seed PostgreSQL and MongoDB; every step checks before it acts, so a rerun is a no-op."""
    assert settings.postgres_url and settings.mongo_url, "start or configure the servers first"
    started = time.monotonic()
    report = SeedReport()
    _, role_secret = settings.secret_values()
    businesses = tuple(businesses)
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rows]:>9,} rows"), TimeElapsedColumn(),
        disable=not show_progress, transient=False,
    ) as progress:  # fmt: skip
        for business in businesses:
            seed_database(settings.postgres_url, business, role_secret, report, progress)
    with mongo_client(settings.mongo_url) as client:
        db: Database[Document] = client[settings.mongo_db]
        ensure_indexes(db)
        report.configs_changed = upsert_configs(db, businesses)
        report.users_created = upsert_users(db, settings.demo_password.get_secret_value())
    report.seconds = time.monotonic() - started
    return report


def seed_database(
    superuser_url: str, business: DemoBusiness, role_secret: str, report: SeedReport, progress: Progress
) -> None:
    dbname = business.business_id
    with psycopg.connect(superuser_url, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        if not exists:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
            report.databases_created.append(dbname)
        for role in _roles(business):
            if ensure_role(admin, role, role_password(role_secret, role)):
                report.roles_created.append(role)
        restrict_database(admin, business)
    with psycopg.connect(_with_dbname(superuser_url, dbname)) as conn:
        if not _is_seeded(conn, dbname):
            rows = load_business(conn, business, progress)
            report.data_loaded[dbname] = rows
        grant_privileges(conn, business)
        conn.commit()
    if dbname in report.data_loaded:
        with psycopg.connect(_with_dbname(superuser_url, dbname), autocommit=True) as conn:
            conn.execute("ANALYZE")


def _roles(business: DemoBusiness) -> list[str]:
    roles = [reader_role(business.business_id)]
    if business.writer_tables:
        roles.append(writer_role(business.business_id))
    return roles


def _with_dbname(url: str, dbname: str) -> str:
    return psycopg.conninfo.make_conninfo(url, dbname=dbname)


def ensure_role(admin: psycopg.Connection[Any], role: str, password: str) -> bool:
    """A login role with no special powers. Returns whether it was new; an old one gets today's password."""
    if admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
        admin.execute(
            sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(role), sql.Literal(password))
        )
        return False
    admin.execute(
        sql.SQL(
            "CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS "
            "CONNECTION LIMIT 40 PASSWORD {}"
        ).format(sql.Identifier(role), sql.Literal(password))
    )
    return True


def restrict_database(admin: psycopg.Connection[Any], business: DemoBusiness) -> None:
    """Only this business's roles may connect, and nobody may create temp tables in it."""
    db = sql.Identifier(business.business_id)
    roles = sql.SQL(", ").join(sql.Identifier(r) for r in _roles(business))
    admin.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(db))
    admin.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(db, roles))
    for role in _roles(business):
        admin.execute(sql.SQL("ALTER ROLE {} SET search_path = public").format(sql.Identifier(role)))
    reader = sql.Identifier(reader_role(business.business_id))
    admin.execute(sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(reader))
    for role in _roles(business):  # the writer's RETURNING and subqueries spill to disk like any read
        admin.execute(
            sql.SQL("ALTER ROLE {} SET temp_file_limit = {}").format(
                sql.Identifier(role), sql.Literal(TEMP_FILE_LIMIT)
            )
        )


def _is_seeded(conn: psycopg.Connection[Any], dbname: str) -> bool:
    row = conn.execute(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", (dbname,)
    ).fetchone()
    if row and row[0] == SEED_MARKER:
        return True
    tables = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
    ).fetchone()
    if tables and tables[0]:
        raise SeedError(
            f"database {dbname!r} already has tables but was not seeded by bizsql; "
            "drop it or point BIZSQL_POSTGRES_URL at another server"
        )
    return False


def load_business(conn: psycopg.Connection[Any], business: DemoBusiness, progress: Progress) -> int:
    """Schema, data and identity sequences in the caller's transaction."""
    task = progress.add_task(business.business_id, total=len(business.tables), rows=0)
    conn.execute(business.schema_sql.encode())
    total = 0
    for table in business.generate(business.rng()):
        progress.update(task, description=f"{business.business_id}: {table.name}")
        total += copy_table(conn, table, lambda n: progress.update(task, rows=n), total)
        progress.advance(task)
        reset_identity(conn, table.name)
    progress.update(task, description=business.business_id, rows=total)
    conn.execute(
        sql.SQL("COMMENT ON DATABASE {} IS {}").format(
            sql.Identifier(business.business_id), sql.Literal(SEED_MARKER)
        )
    )
    return total


def copy_table(conn: psycopg.Connection[Any], table: TableData, report: Any, already: int) -> int:
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in table.columns)
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(table.name), columns)
    count = 0
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for row in table.rows:
            copy.write_row(row)
            count += 1
            if count % ROW_REPORT_EVERY == 0:
                report(already + count)
    report(already + count)
    return count


def reset_identity(conn: psycopg.Connection[Any], table: str) -> None:
    """Explicit ids were loaded, so move each identity sequence past them."""
    rows = conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attidentity <> '' ",
        (table,),
    ).fetchall()
    for (column,) in rows:
        conn.execute(
            sql.SQL(
                "SELECT setval(pg_get_serial_sequence({t}, {c}), coalesce(max({col}), 0) + 1, false) "
                "FROM {ti}"
            ).format(
                t=sql.Literal(table),
                c=sql.Literal(column),
                col=sql.Identifier(column),
                ti=sql.Identifier(table),
            )
        )


def grant_privileges(conn: psycopg.Connection[Any], business: DemoBusiness) -> None:
    """SELECT for the reader; the writer also gets INSERT/UPDATE/DELETE on its few tables only."""
    reader = sql.Identifier(reader_role(business.business_id))
    conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
    revoke_large_object_functions(conn)
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(reader))
    conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(reader))
    conn.execute(
        sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {}").format(reader)
    )
    if not business.writer_tables:
        return
    writer = sql.Identifier(writer_role(business.business_id))
    tables = sql.SQL(", ").join(sql.Identifier(t) for t in business.writer_tables)
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(writer))
    conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(writer))
    conn.execute(sql.SQL("GRANT INSERT, UPDATE, DELETE ON {} TO {}").format(tables, writer))
    conn.execute(sql.SQL("GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {}").format(writer))


def revoke_large_object_functions(conn: psycopg.Connection[Any]) -> None:
    """Large objects outlive a read-only transaction (lo_create works there), so PUBLIC loses lo_*."""
    functions = conn.execute(
        "SELECT p.oid::regprocedure::text FROM pg_proc p "
        "WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.proname LIKE 'lo\\_%' "
        "AND has_function_privilege('public', p.oid, 'EXECUTE')"
    ).fetchall()
    for (signature,) in functions:
        conn.execute(sql.SQL("REVOKE EXECUTE ON FUNCTION {} FROM PUBLIC").format(sql.SQL(signature)))


def business_config(business: DemoBusiness) -> Document:
    """The MongoDB business config: per-tenant settings live here, never in code."""
    return {
        "business_id": business.business_id,
        "name": business.name,
        "description": business.description,
        "database": {
            "name": business.business_id,
            "reader_role": reader_role(business.business_id),
            "writer_role": writer_role(business.business_id) if business.writer_tables else None,
        },
        "row_cap": business.row_cap,
        "statement_timeout_ms": business.statement_timeout_ms,
        "max_cost": business.max_cost,
        "allow_writes": business.allow_writes,
        "max_write_rows": business.max_write_rows,
        "privacy_mode": False,
        "daily_token_budget": 2_000_000,
        "chat_rate_per_minute": None,
        "glossary": dict(business.glossary),
        "instructions": business.instructions,
        "verified_queries": [{"question": q.question, "sql": q.sql} for q in business.verified_queries],
        **business.extra,
    }


def upsert_configs(db: Database[Document], businesses: Iterable[DemoBusiness]) -> int:
    changed = 0
    for business in businesses:
        result = db[BUSINESS_CONFIGS].update_one(
            {"business_id": business.business_id},
            {"$set": business_config(business), "$setOnInsert": {"created_at": datetime.now(UTC)}},
            upsert=True,
        )
        changed += result.modified_count + (1 if result.upserted_id is not None else 0)
    return changed


def upsert_users(db: Database[Document], password: str) -> int:
    """Create missing demo users; existing ones keep their hash, so a rerun changes nothing."""
    created = 0
    for user in DEMO_USERS:
        if db[USERS].find_one({"username": user["username"]}, {"_id": 1}):
            continue
        result = db[USERS].update_one(
            {"username": user["username"]},
            {
                "$setOnInsert": {
                    **user,
                    "password_hash": hash_password(password),
                    "created_at": datetime.now(UTC),
                }
            },
            upsert=True,
        )
        created += 1 if result.upserted_id is not None else 0
    return created
