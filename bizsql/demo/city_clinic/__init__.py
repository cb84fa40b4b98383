"""City Clinic: a Denver outpatient clinic, with visits, diagnoses, prescriptions, labs and billing."""

from __future__ import annotations

from bizsql.demo.city_clinic.queries import GLOSSARY, INSTRUCTIONS, VERIFIED_QUERIES
from bizsql.demo.city_clinic.schema import SCHEMA_SQL, TABLES
from bizsql.demo.city_clinic.visits import generate
from bizsql.demo.spec import DemoBusiness

__all__ = ["BUSINESS"]

BUSINESS = DemoBusiness(
    business_id="city_clinic",
    name="City Clinic",
    description="A multi-specialty outpatient clinic in Denver: 4,500 patients and 32,000 appointments.",
    schema_sql=SCHEMA_SQL,
    generate=generate,
    tables=TABLES,
    glossary=GLOSSARY,
    instructions=INSTRUCTIONS,
    verified_queries=VERIFIED_QUERIES,
    row_cap=1000,
    statement_timeout_ms=5000,
)
