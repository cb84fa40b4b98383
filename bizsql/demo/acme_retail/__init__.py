"""Acme Retail: a US store chain with an online shop, big enough (52k orders) that slow SQL shows."""

from __future__ import annotations

from bizsql.demo.acme_retail.queries import GLOSSARY, INSTRUCTIONS, VERIFIED_QUERIES
from bizsql.demo.acme_retail.sales import generate
from bizsql.demo.acme_retail.schema import SCHEMA_SQL, TABLES
from bizsql.demo.spec import DemoBusiness

__all__ = ["BUSINESS"]

BUSINESS = DemoBusiness(
    business_id="acme_retail",
    name="Acme Retail",
    description="A US retail chain with 24 stores and a web shop selling home, tech and everyday goods.",
    schema_sql=SCHEMA_SQL,
    generate=generate,
    tables=TABLES,
    glossary=GLOSSARY,
    instructions=INSTRUCTIONS,
    verified_queries=VERIFIED_QUERIES,
    writer_tables=("orders", "customers", "inventory"),
    allow_writes=True,
    row_cap=1000,
    statement_timeout_ms=5000,
    max_write_rows=100,
)
