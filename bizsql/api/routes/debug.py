"""/debug/*: live figures for administrators (everyone else gets 403 on every route here)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from bizsql.api.dependencies import AdminDep, ServicesDep, business_config, check_message, require_admin
from bizsql.api.errors import ERROR_RESPONSES
from bizsql.api.schemas import THREAD_ID, DebugSqlRequest, DryRunResult
from bizsql.checkpointers.redis_view import cache_stats, thread_view
from bizsql.errors import NotFound
from bizsql.graph.dry_run import dry_run

router = APIRouter(
    prefix="/debug", tags=["debug"], dependencies=[Depends(require_admin)], responses=ERROR_RESPONSES
)


@router.get("/cache-stats")
async def get_cache_stats(services: ServicesDep) -> dict[str, Any]:
    """Redis hits, misses, keys and memory, and the conversation cache's own hit ratio."""
    return await cache_stats(services.redis, services.checkpointer)


@router.get("/redis-conversation")
async def get_redis_conversation(
    services: ServicesDep, thread_id: Annotated[str, Query(pattern=THREAD_ID)]
) -> dict[str, Any]:
    """What Redis holds for one thread (keys, fields, sizes, checkpoints) and when it expires."""
    return await thread_view(services.redis, services.checkpointer, thread_id)


@router.get("/search-stats")
async def get_search_stats(services: ServicesDep) -> dict[str, Any]:
    """Per business: FAISS index size, searches, latency percentiles (ms) and rebuilds."""
    return {"businesses": services.deps.schema_index.stats()}


@router.post("/sql")
async def debug_sql(body: DebugSqlRequest, identity: AdminDep, services: ServicesDep) -> DryRunResult:
    """Generate and validate only: the SQL, the guard's verdict and the schema context, never executed."""
    question = check_message(services, body.question, field="question")
    business = await business_config(services, body.business_id)
    if business is None:
        raise NotFound("name a business")
    return await dry_run(services.dry_run_graph, services.deps, identity, business, question)
