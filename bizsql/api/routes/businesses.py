"""/businesses: the businesses the caller may ask about, and what works there without an LLM.

An admin sees every business, anyone else their own. The list carries what a client shows a user (names,
whether writes are allowed, the verified questions), never the config's SQL, role names or limits.
"""

from __future__ import annotations

from fastapi import APIRouter

from bizsql.api.dependencies import IdentityDep, ServicesDep
from bizsql.api.errors import ERROR_RESPONSES
from bizsql.api.schemas import BusinessList, BusinessOut
from bizsql.stores.mongo import BUSINESS_CONFIGS

router = APIRouter(prefix="/businesses", responses=ERROR_RESPONSES)  # tagged "chat" where it is mounted
FIELDS = {"_id": 0, "business_id": 1, "name": 1, "description": 1, "allow_writes": 1, "verified_queries": 1}


@router.get("")
async def list_businesses(identity: IdentityDep, services: ServicesDep) -> BusinessList:
    """Every business for an admin; the caller's own for anyone else (none if it has no config)."""
    query = {} if identity.is_admin else {"business_id": identity.business_id}
    cursor = services.db[BUSINESS_CONFIGS].find(query, FIELDS).sort("business_id", 1)
    return BusinessList(businesses=[BusinessOut.of(doc, identity) async for doc in cursor])
