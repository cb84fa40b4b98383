"""Names resolved by scope: attacks that a flat reading of names lets through never run, as alice or dave.

The corpus (tests/corpora/scope_attacks.yaml) holds CTEs named after catalog relations where they are not
in scope, writes aimed at pg_settings, EXPLAIN options spelled as U&"..." names, system columns,
attribute notation (``g.pg_sleep``), nested repeat() and Unicode-escaped names. Each one is also sent
straight to the bare role, to show that PostgreSQL itself would have run it.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from pymongo.asynchronous.database import AsyncDatabase

from bizsql.auth.identity import Identity
from bizsql.config import Settings
from bizsql.errors import QueryFailed, SqlRejected
from bizsql.sql.executor import SqlExecutor
from bizsql.stores.business import BusinessConfig
from bizsql.stores.mongo import AUDIT_LOGS
from bizsql.stores.postgres import business_conninfo
from tests.corpora import Attack, attacks
from tests.integration.sql.conftest import ALICE, BUSINESS_IDS, DAVE, database_checksum

pytestmark = pytest.mark.integration

ATTACKS = attacks("scope_attacks.yaml")
ANALYST_WRITE = "alice is an analyst; only editors and admins may write"
DIRECT_TIMEOUT_MS = 2000


@pytest.fixture(scope="module")
def before(seeded: Settings) -> tuple[dict[str, dict[str, str]], int]:
    """Every business database's checksum and the number of roles, before any attack of this module."""
    return {db: database_checksum(seeded, db) for db in BUSINESS_IDS}, _role_count(seeded)


def test_the_corpus_is_large_and_covers_every_class() -> None:
    assert len(ATTACKS) >= 60
    assert {a.category for a in ATTACKS} >= {
        "cte_out_of_scope", "write_target", "explain_spelling", "system_columns", "attribute_notation",
        "generated_size", "unicode_names",
    }  # fmt: skip


@pytest.mark.parametrize("user", [ALICE, DAVE], ids=lambda u: u.username)
@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.id)
async def test_attack_is_refused_with_its_reason_and_audited(
    attack: Attack,
    user: Identity,
    before: Any,
    executor: SqlExecutor,
    businesses: dict[str, BusinessConfig],
    mongo_db: AsyncDatabase[dict[str, Any]],
) -> None:
    reason = ANALYST_WRITE if attack.write and user is ALICE else attack.reason
    with pytest.raises((SqlRejected, QueryFailed)) as refused:
        await executor.run(attack.sql, business=businesses["acme_retail"], identity=user, source="scope-test")
    assert re.search(reason, refused.value.detail, re.IGNORECASE), refused.value.detail
    entry = await mongo_db[AUDIT_LOGS].find_one(
        {"sql": attack.sql, "user": user.username, "source": "scope-test"}, sort=[("at", -1)]
    )
    assert entry is not None and entry["outcome"] == "refused", entry


@pytest.mark.parametrize("attack", [a for a in ATTACKS if a.direct != "either"], ids=lambda a: a.id)
def test_same_attack_sent_straight_to_the_bare_role_is_what_the_guard_stops(
    attack: Attack, before: Any, seeded: Settings
) -> None:
    """As psql would send it, in a transaction that is never committed: "runs" means only the guard stood
    in the way, "fails" that the role or the read-only transaction would have stopped it too."""
    assert seeded.postgres_url
    role = "writer" if attack.write else "reader"
    conninfo = business_conninfo(
        seeded.postgres_url, database="acme_retail", role=f"bizsql_acme_retail_{role}",
        secret=seeded.secret_values()[1],
    )  # fmt: skip
    with psycopg.connect(conninfo, autocommit=True) as conn:
        mode = " READ ONLY" if role == "reader" else ""
        conn.execute(f"BEGIN{mode}; SET LOCAL statement_timeout = {DIRECT_TIMEOUT_MS}")
        try:
            cur = conn.execute(attack.sql)
            failed = None if cur.description is not None else "returned no rows"
        except psycopg.Error as exc:
            failed = str(exc).splitlines()[0]
        finally:
            conn.execute("ROLLBACK")
    assert (failed is not None) == (attack.direct == "fails"), failed


def test_every_database_and_role_is_unchanged_after_all_attacks(
    before: tuple[dict[str, dict[str, str]], int], seeded: Settings
) -> None:
    checksums, roles = before
    for db in BUSINESS_IDS:
        after = database_checksum(seeded, db)
        assert {name for name in checksums[db] if checksums[db][name] != after.get(name)} == set(), db
    assert _role_count(seeded) == roles


def _role_count(settings: Settings) -> int:
    assert settings.postgres_url
    with psycopg.connect(make_conninfo(settings.postgres_url, dbname="postgres")) as conn:
        row = conn.execute("SELECT count(*) FROM pg_roles").fetchone()
    return int(row[0]) if row else 0
