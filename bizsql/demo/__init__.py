"""The demo businesses: each one's schema, deterministic data and business config."""

from __future__ import annotations

from bizsql.demo.acme_retail import BUSINESS as ACME_RETAIL
from bizsql.demo.city_clinic import BUSINESS as CITY_CLINIC
from bizsql.demo.spec import DemoBusiness, TableData, VerifiedQuery
from bizsql.demo.swift_logistics import BUSINESS as SWIFT_LOGISTICS

DEMO_BUSINESSES: tuple[DemoBusiness, ...] = (ACME_RETAIL, CITY_CLINIC, SWIFT_LOGISTICS)

__all__ = [
    "ACME_RETAIL", "CITY_CLINIC", "DEMO_BUSINESSES", "SWIFT_LOGISTICS", "DemoBusiness", "TableData",
    "VerifiedQuery", "get_demo_business",
]  # fmt: skip


def get_demo_business(business_id: str) -> DemoBusiness:
    """Look a demo business up by id; an unknown id is a user error, so say which ids exist."""
    for business in DEMO_BUSINESSES:
        if business.business_id == business_id:
            return business
    known = ", ".join(b.business_id for b in DEMO_BUSINESSES)
    raise ValueError(f"unknown demo business {business_id!r}; expected one of: {known}")
