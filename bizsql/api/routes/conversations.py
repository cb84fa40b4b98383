"""/conversations: the caller's threads (newest first, paginated), one thread's messages, and deletion."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel

from bizsql.api.dependencies import IdentityDep, ServicesDep, authorize_business
from bizsql.api.errors import ERROR_RESPONSES
from bizsql.api.schemas import BUSINESS_ID, THREAD_ID, MessageOut, Thread, ThreadPage, ThreadSummary
from bizsql.errors import NotFound, TenantDenied

router = APIRouter(prefix="/conversations", tags=["conversations"], responses=ERROR_RESPONSES)
MAX_PAGE = 100
ThreadId = Annotated[str, Path(pattern=THREAD_ID)]


@router.get("")
async def list_conversations(
    identity: IdentityDep,
    services: ServicesDep,
    business_id: Annotated[str | None, Query(pattern=BUSINESS_ID)] = None,
    limit: Annotated[int | None, Query(ge=1, le=MAX_PAGE)] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    all_users: Annotated[bool, Query(description="Admins only: everybody's threads.")] = False,
) -> ThreadPage:
    """The caller's threads, newest first (an admin may filter by business or list everybody's)."""
    if all_users and not identity.is_admin:
        raise TenantDenied("only administrators may list everybody's conversations")
    size = limit or services.settings.conversations_page_size
    business = authorize_business(identity, business_id)
    rows = await services.conversations.list_threads(
        identity, business_id=business, limit=size + 1, offset=offset, all_users=all_users
    )
    threads = [ThreadSummary.model_validate(_fields(row, ThreadSummary)) for row in rows[:size]]
    return ThreadPage(
        threads=threads, limit=size, offset=offset, next_offset=offset + size if len(rows) > size else None
    )


@router.get("/{thread_id}")
async def get_conversation(thread_id: ThreadId, identity: IdentityDep, services: ServicesDep) -> Thread:
    """One thread with its messages; its owner (or an admin) only, else 404 as for an unknown thread."""
    with _only_yours(thread_id):
        doc = await services.conversations.get_thread(thread_id, identity)
    messages = [MessageOut.model_validate(_fields(m, MessageOut)) for m in doc.get("messages") or []]
    return Thread.model_validate({**_fields(doc, ThreadSummary), "messages": messages})


@router.delete("/{thread_id}", status_code=204, response_class=Response)
async def delete_conversation(thread_id: ThreadId, identity: IdentityDep, services: ServicesDep) -> Response:
    """Remove the thread from Redis and MongoDB (checkpoints and the readable document); someone else's
    thread is a 404, as an unknown one is."""
    with _only_yours(thread_id):
        await services.conversations.delete_thread(thread_id, identity, services.checkpointer)
    return Response(status_code=204)


@contextmanager
def _only_yours(thread_id: str) -> Iterator[None]:
    """Someone else's thread answers exactly as a missing one: a 403 would confirm that the id exists."""
    try:
        yield
    except (NotFound, TenantDenied):
        raise NotFound(f"no conversation {thread_id}") from None


def _fields(doc: dict[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k in model.model_fields}
