"""Shared servers for the SQL tests: one executor and one MongoDB client on the session's event loop."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import psycopg
import pytest
import pytest_asyncio
from psycopg.conninfo import make_conninfo
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from bizsql.auth.identity import Identity
from bizsql.config import Settings
from bizsql.sql.executor import MongoAudit, SqlExecutor
from bizsql.stores.business import BusinessConfig, aload_business_config
from tests.support.servers import servers_env

BUSINESS_IDS = ("acme_retail", "city_clinic", "swift_logistics")
ALICE = Identity(username="alice", role="analyst", business_id="acme_retail")
DAVE = Identity(username="dave", role="editor", business_id="acme_retail")
BOB = Identity(username="bob", role="analyst", business_id="city_clinic")


@pytest.fixture(scope="session")
def sql_env(seeded: Settings) -> dict[str, str]:
    """Environment that points the `bizsql` CLI (in-process or a subprocess) at the test servers."""
    return {**servers_env(seeded), "BIZSQL_LOG_LEVEL": "WARNING"}


@pytest.fixture(scope="session")
def subprocess_env(sql_env: dict[str, str]) -> dict[str, str]:
    return {**os.environ, **sql_env, "HF_HUB_OFFLINE": "1"}


@pytest_asyncio.fixture(scope="session")
async def mongo_db(seeded: Settings) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    assert seeded.mongo_url
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        seeded.mongo_url, serverSelectionTimeoutMS=5000, tz_aware=True
    )
    yield client[seeded.mongo_db]
    await client.close()


@pytest_asyncio.fixture(scope="session")
async def executor(seeded: Settings, mongo_db: AsyncDatabase[dict[str, Any]]) -> AsyncIterator[SqlExecutor]:
    sql_executor = SqlExecutor(seeded, MongoAudit(mongo_db))
    yield sql_executor
    await sql_executor.close()


@pytest_asyncio.fixture(scope="session")
async def businesses(mongo_db: AsyncDatabase[dict[str, Any]]) -> dict[str, BusinessConfig]:
    """The demo business configs exactly as the seeder stored them in MongoDB."""
    return {business_id: await aload_business_config(mongo_db, business_id) for business_id in BUSINESS_IDS}


@pytest.fixture
def superuser(seeded: Settings) -> Iterator[psycopg.Connection[Any]]:
    assert seeded.postgres_url
    with psycopg.connect(make_conninfo(seeded.postgres_url, dbname="acme_retail"), autocommit=True) as conn:
        yield conn


def database_checksum(settings: Settings, database: str) -> dict[str, str]:
    """A fingerprint of every table's rows, plus relations, large objects, roles and role settings."""
    assert settings.postgres_url
    with psycopg.connect(make_conninfo(settings.postgres_url, dbname=database)) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables "
                "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
            )
        ]
        sums: dict[str, str] = {}
        for table in tables:
            row = conn.execute(
                "SELECT count(*) || ':' || "
                f"coalesce(md5(string_agg(md5(t::text), '' ORDER BY md5(t::text))), '') FROM {table} t"
            ).fetchone()
            sums[table] = str(row[0]) if row else ""
        for name, query in {
            "relations": "SELECT n.nspname, c.relname, c.relkind, c.relacl::text FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT LIKE 'pg_%' "
            "AND n.nspname <> 'information_schema' ORDER BY 1, 2",
            "large_objects": "SELECT oid, lomowner FROM pg_largeobject_metadata ORDER BY 1",
            "roles": "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolcanlogin FROM pg_roles "
            "WHERE rolsuper OR rolname LIKE 'bizsql\\_acme\\_retail%' ORDER BY 1",
            "role_settings": "SELECT setdatabase, setrole, setconfig::text FROM pg_db_role_setting "
            "WHERE setrole IN (SELECT oid FROM pg_roles WHERE rolname LIKE 'bizsql\\_acme\\_retail%') "
            "ORDER BY 1, 2",
            "functions": "SELECT p.proname, n.nspname FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2",
        }.items():
            sums[f"__{name}__"] = hashlib.md5(repr(conn.execute(query).fetchall()).encode()).hexdigest()
    return sums
