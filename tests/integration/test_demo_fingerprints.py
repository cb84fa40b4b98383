"""The seeded demo data is the same on every machine: each table's rows hash to a value fixed here.

The hash is computed in PostgreSQL, in a form no server version, locale or encoding changes: rows in
primary-key order, each as its record text with dates and times in ISO and UTC, md5 over UTF-8. If the
data changes on purpose (a new column, other generated rows), replace ``FINGERPRINTS`` with the
"this run" mapping the failure prints, and regenerate the docs' samples (tests/integration/api/
test_docs_samples.py says how).
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from bizsql.config import Settings
from bizsql.demo import DEMO_BUSINESSES
from bizsql.demo.spec import DemoBusiness

pytestmark = pytest.mark.integration

CANONICAL_SESSION = (
    "SET LOCAL TimeZone = 'UTC'",
    "SET LOCAL DateStyle = 'ISO, YMD'",
    "SET LOCAL IntervalStyle = 'postgres'",
    "SET LOCAL extra_float_digits = 1",
    "SET LOCAL bytea_output = 'hex'",
)
PRIMARY_KEY = """
SELECT a.attname, t.typcollation <> 0
FROM pg_index i
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
JOIN pg_type t ON t.oid = a.atttypid
WHERE i.indrelid = %s::regclass AND i.indisprimary
ORDER BY array_position(i.indkey, a.attnum)
"""
TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename COLLATE \"C\""

# table -> "rows:md5" per business, from the seed of bizsql demo data v1
FINGERPRINTS: dict[str, dict[str, str]] = {
    "acme_retail": {
        "categories": "13:5e8761768dfa4a5e880042fe73d6ca57",
        "suppliers": "40:5057acab1f06cef47a279d7e2d45b7a6",
        "products": "291:4c6fd6505498937508cb49e2ebd9f9f4",
        "product_suppliers": "532:81903b13a4fa46e2c5c9dd4561afdecb",
        "stores": "25:b248caef200d0aac99ba834dd204f200",
        "employees": "519:bf49e39ed00664041355b12c3f88e5a3",
        "customers": "5000:6199bb2a6d361b6a12863291a54e181d",
        "promotions": "24:54f717e0ffac3838686dae2129979745",
        "inventory": "5070:f38a1f41ff7e521411ad0093694fd12e",
        "orders": "52000:5be80c606e9a51c36f1b606902285bca",
        "order_items": "136191:7727aff73a4fd47d2e0709cdaf7fa240",
        "payments": "51313:be45bdff5bf658beb8823953b341b2d8",
        "returns": "4694:a5228790194af60b070b6845da19d990",
    },
    "city_clinic": {
        "departments": "11:2091d55bfc92511a95d51b9783e0adb9",
        "rooms": "51:99fc97790b7c1836ea98f71e7d1c8e68",
        "doctors": "43:2309779f67672d93b2c8d8f34a818e3a",
        "insurance_providers": "9:b3b4c898cd35242a3f064e86868d55f3",
        "patients": "4500:04f2a300f34095d5907cef031870e3fd",
        "medications": "39:941ea9aa41622de7ce3a9b9734cf2e24",
        "appointments": "32000:a115254bca598e46153212b1f104bf5e",
        "diagnoses": "35827:d48e9fbcacc3c3721a9201f24cc5e826",
        "prescriptions": "15771:d4dcee00a2861dc6a9aa18555206ee97",
        "lab_results": "15492:4943f2cdbf58afa835e2ba7d8a4d2a2b",
        "invoices": "28314:91671cf93e04c06c4fdf0afbc35d7bf3",
    },
    "swift_logistics": {
        "depots": "12:29ea6d5817afe5f09d4a44852d1c68c3",
        "warehouses": "8:c452993c7dfbecb7516af51e4280f845",
        "customers": "450:28dbf685727b895b08e99f85abbe44b9",
        "vehicles": "187:f0d751e67cb5cfd98b81c4d27c9c81a4",
        "drivers": "222:dcfc4eb7b0314aaba0c70f1d211b793d",
        "routes": "72:1fd39e8ff1072fd93813ba67c5f28a26",
        "shipments": "30000:601986c8d7c098e493b20afcee376680",
        "tracking_events": "159430:98a9d746d671c691399eecd9c724392f",
        "fuel_logs": "30702:88c86a1f0a2a59843063124c2efe0c73",
        "maintenance_records": "2101:18d205ed1a6ddc5ceb7767e094b3c9e5",
        "incidents": "1004:a587f10917629b5b7b3b649b4cba7dcb",
    },
}


def table_fingerprint(conn: psycopg.Connection[Any], table: str) -> str:
    keys = conn.execute(PRIMARY_KEY, (table,)).fetchall()
    assert keys, f"{table} has no primary key to order its rows by"
    order = sql.SQL(", ").join(
        sql.SQL('t.{} COLLATE "C"' if collatable else "t.{}").format(sql.Identifier(name))
        for name, collatable in keys
    )
    query = sql.SQL(
        "SELECT count(*), coalesce(md5(string_agg(md5(convert_to(t::text, 'UTF8')), '' ORDER BY {})), '') "
        "FROM {} t"
    ).format(order, sql.Identifier(table))
    row = conn.execute(query).fetchone()
    assert row is not None
    return f"{row[0]}:{row[1]}"


def business_fingerprints(settings: Settings, business_id: str, options: str = "") -> dict[str, str]:
    """Every table's fingerprint, in name order; ``options`` are the connection's own settings."""
    assert settings.postgres_url
    conninfo = make_conninfo(settings.postgres_url, dbname=business_id, options=options or None)
    with psycopg.connect(conninfo) as conn:
        for statement in CANONICAL_SESSION:
            conn.execute(statement)
        tables = [name for (name,) in conn.execute(TABLES)]
        return {table: table_fingerprint(conn, table) for table in tables}


@pytest.mark.parametrize("business", DEMO_BUSINESSES, ids=[b.business_id for b in DEMO_BUSINESSES])
def test_every_seeded_table_holds_exactly_the_fixed_rows(seeded: Settings, business: DemoBusiness) -> None:
    found = business_fingerprints(seeded, business.business_id)
    assert sorted(found) == sorted(business.tables), "the database holds other tables than the demo's"
    expected = FINGERPRINTS[business.business_id]
    changed = {t: f"{expected.get(t)} -> {found[t]}" for t in business.tables if expected.get(t) != found[t]}
    this_run = "".join(f'\n        "{t}": "{found[t]}",' for t in business.tables)
    assert not changed, f"{business.business_id}: rows changed in {changed}; this run:{this_run}"


def test_the_fingerprint_ignores_session_settings_but_sees_one_changed_value(seeded: Settings) -> None:
    assert seeded.postgres_url
    odd = (
        "-c TimeZone=Pacific/Chatham -c DateStyle=SQL,DMY -c IntervalStyle=iso_8601 -c extra_float_digits=-3"
    )
    assert business_fingerprints(seeded, "swift_logistics", odd) == FINGERPRINTS["swift_logistics"]
    with psycopg.connect(make_conninfo(seeded.postgres_url, dbname="acme_retail")) as conn:
        for statement in CANONICAL_SESSION:
            conn.execute(statement)
        conn.execute("UPDATE orders SET total = total + 0.01 WHERE id = 27182")
        changed = table_fingerprint(conn, "orders")
        conn.rollback()
    assert changed != FINGERPRINTS["acme_retail"]["orders"]
