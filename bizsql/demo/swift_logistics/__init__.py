"""Swift Logistics: a US freight carrier with depots, a fleet, drivers and 30k shipments to track."""

from __future__ import annotations

from bizsql.demo.spec import DemoBusiness
from bizsql.demo.swift_logistics.queries import GLOSSARY, INSTRUCTIONS, VERIFIED_QUERIES
from bizsql.demo.swift_logistics.schema import SCHEMA_SQL, TABLES
from bizsql.demo.swift_logistics.tables import generate

__all__ = ["BUSINESS"]

BUSINESS = DemoBusiness(
    business_id="swift_logistics",
    name="Swift Logistics",
    description="A US freight carrier with 12 depots, about 170 vehicles and 30,000 shipments since 2024.",
    schema_sql=SCHEMA_SQL,
    generate=generate,
    tables=TABLES,
    glossary=GLOSSARY,
    instructions=INSTRUCTIONS,
    verified_queries=VERIFIED_QUERIES,
    row_cap=1000,
    statement_timeout_ms=5000,
)
