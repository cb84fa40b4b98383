"""Schema descriptions as the reader role sees them: what the schema index and the MCP tools are built on."""

from __future__ import annotations

import pytest

from bizsql.config import Settings
from bizsql.errors import NotFound
from bizsql.sql import introspect
from bizsql.sql.executor import SqlExecutor
from bizsql.stores.business import BusinessConfig

pytestmark = pytest.mark.integration


async def test_business_schema_has_tables_columns_keys_comments_and_samples(
    seeded: Settings, businesses: dict[str, BusinessConfig]
) -> None:
    tables = {t.name: t for t in await introspect.describe_business_schema(seeded, businesses["acme_retail"])}
    assert len(tables) == 13
    orders = tables["orders"]
    assert orders.primary_key == ["id"]
    assert (
        introspect.ForeignKey(columns=["store_id"], ref_table="stores", ref_columns=["id"])
        in orders.foreign_keys
    )
    assert orders.comment.startswith("One row per customer order")
    assert orders.row_estimate and orders.row_estimate >= 50_000
    columns = {c.name: c for c in orders.columns}
    assert (columns["total"].type, columns["total"].nullable) == ("numeric(12,2)", False)
    assert columns["shipped_on"].nullable
    assert set(columns["channel"].samples) <= {"in_store", "online"} and columns["channel"].samples
    assert tables["product_suppliers"].primary_key == ["product_id", "supplier_id"]
    products = {c.name: c for c in tables["products"].columns}
    assert products["attributes"].type == "jsonb" and products["attributes"].samples[0].startswith("{")


async def test_privacy_mode_describes_without_sample_values(
    seeded: Settings, businesses: dict[str, BusinessConfig]
) -> None:
    private = businesses["city_clinic"].model_copy(update={"privacy_mode": True})
    tables = await introspect.describe_business_schema(seeded, private)
    assert tables and all(not c.samples for t in tables for c in t.columns)


async def test_unknown_or_system_table_is_not_found(
    executor: SqlExecutor, businesses: dict[str, BusinessConfig]
) -> None:
    async with executor.reader_connection(businesses["acme_retail"]) as conn:
        summaries = await introspect.list_tables(conn)
        assert [s.name for s in summaries] == sorted(s.name for s in summaries)
        for name in ("no_such_table", "pg_authid", "pg_roles"):
            with pytest.raises(NotFound):
                await introspect.describe_table(conn, name)
