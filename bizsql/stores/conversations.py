"""The ``conversations`` collection: one readable document per thread, and who may load the thread.

The checkpoint is the truth; this document is a projection of it (title, owner, the messages as
role/content/time, and for answers their intent, SQL and row count) that serves ``GET /conversations``
and long-term reading. It binds each thread to the user and business that started it: nobody else but an
admin may read it, and it can never be loaded under another business. ``rebuild_from_checkpoint``
rewrites it from the checkpoint whenever the two might disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, trim_messages
from langgraph.checkpoint.base import BaseCheckpointSaver
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from bizsql.auth.identity import Identity
from bizsql.errors import BizsqlError, NotFound, TenantDenied
from bizsql.stores.mongo import CONVERSATIONS

Document = dict[str, Any]

STORE_ERRORS = (BizsqlError, PyMongoError, OSError)
"""What writing the conversation document may raise when the store, not the code, is at fault."""

META_KEY = "bizsql"
"""``additional_kwargs`` key of a message's turn data (intent, sql, row_count, at), as the nodes write it."""
TITLE_CHARS = 80
_SUMMARY = {"_id": 0, "messages": 0}


@dataclass(frozen=True)
class LoggedTurn:
    """One question and its answer as the conversation document keeps them (``persist`` writes it)."""

    identity: Identity
    business_id: str | None
    user_message: str
    assistant_message: str
    intent: str
    sql: str | None
    row_count: int | None
    at: datetime
    steps: list[dict[str, Any]] | None = None
    """A planned turn's steps: question, SQL, row count and error code of each."""


def last_messages(messages: Sequence[BaseMessage], n: int) -> list[BaseMessage]:
    """The last ``n`` messages, cut so the window starts on a user message (what chat models expect).

    Counts messages, not tokens (token counting is unavailable offline for Mistral): ``n`` is
    ``settings.context_messages`` for the LLM's context and ``settings.classify_messages`` to classify.
    """
    if n <= 0:
        return []
    return trim_messages(
        list(messages),
        max_tokens=n,
        token_counter=len,
        strategy="last",
        start_on="human",
        allow_partial=False,
    )


def title_of(question: str) -> str:
    text = " ".join(question.split())
    return text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1].rstrip() + "…"


def to_millis(at: datetime) -> datetime:
    """MongoDB keeps milliseconds; cutting here makes a stored time compare equal to the one given."""
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


class ConversationStore:
    """Async access to ``conversations`` over pymongo's AsyncMongoClient (its unique ``thread_id`` index,
    from ``stores.mongo.ensure_indexes``, is what makes a thread's owner binding race-free)."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection = db[CONVERSATIONS]

    async def setup(self) -> None:
        """The indexes ``stores.mongo.ensure_indexes`` makes for this collection (same names, idempotent):
        without the unique one, two users could bind the same thread id."""
        await self.collection.create_index([("thread_id", ASCENDING)], unique=True, name="thread_id_unique")
        await self.collection.create_index(
            [("user", ASCENDING), ("business_id", ASCENDING), ("updated_at", DESCENDING)], name="owner_recent"
        )

    async def bind_thread(self, thread_id: str, identity: Identity, business_id: str | None) -> None:
        """Bind a new thread to this user and business; ``TenantDenied`` if it is someone else's.

        Admins may read any thread (``check_access``) but add turns only to their own.
        """
        business = _scope(identity, business_id)
        now = to_millis(datetime.now(UTC))
        owner = {"thread_id": thread_id, "user": identity.username, "business_id": business}
        fresh: Document = {"created_at": now, "updated_at": now, "title": None, "messages": [], "turns": 0}
        try:
            await self.collection.update_one(owner, {"$setOnInsert": fresh}, upsert=True)
        except DuplicateKeyError as exc:
            raise TenantDenied(f"conversation {thread_id} belongs to another user or business") from exc

    async def check_access(self, thread_id: str, identity: Identity, business_id: str | None) -> None:
        """``NotFound`` if there is no such thread, ``TenantDenied`` if this identity may not load it here."""
        doc = await self.collection.find_one({"thread_id": thread_id}, {"user": 1, "business_id": 1})
        if doc is None:
            raise NotFound(f"no conversation {thread_id}")
        _ensure_readable(doc, identity, business_id)

    async def append_turn(self, thread_id: str, turn: LoggedTurn) -> None:
        """Add one question and its answer; binds a new thread, refuses someone else's, and adding the same
        turn twice (a retried persist) keeps one copy."""
        business = _scope(turn.identity, turn.business_id)
        at, user_message = to_millis(turn.at), turn.user_message
        question = {"role": "user", "content": user_message, "at": at}
        answer = {"role": "assistant", "content": turn.assistant_message, "at": at,
                  "intent": turn.intent, "sql": turn.sql, "row_count": turn.row_count}  # fmt: skip
        if turn.steps:
            answer["steps"] = turn.steps
        owner = {"thread_id": thread_id, "user": turn.identity.username, "business_id": business}
        not_yet = {"messages": {"$not": {"$elemMatch": {"role": "user", "at": at, "content": user_message}}}}
        update = {
            "$setOnInsert": {"created_at": at, "title": title_of(user_message)},
            "$push": {"messages": {"$each": [question, answer]}},
            "$max": {"updated_at": at},
            "$inc": {"turns": 1},
        }
        try:
            doc = await self.collection.find_one_and_update(
                {**owner, **not_yet}, update, upsert=True, projection={"title": 1},
                return_document=ReturnDocument.AFTER,
            )  # fmt: skip
        except DuplicateKeyError as exc:
            if await self.collection.count_documents(owner, limit=1):
                return
            raise TenantDenied(f"conversation {thread_id} belongs to another user or business") from exc
        if doc is not None and not doc.get("title"):
            await self.collection.update_one(
                {"thread_id": thread_id, "title": None}, {"$set": {"title": title_of(user_message)}}
            )

    async def list_threads(
        self,
        identity: Identity,
        *,
        business_id: str | None,
        limit: int,
        offset: int,
        all_users: bool = False,
    ) -> list[dict[str, Any]]:
        """This user's threads (in one business, or all of theirs), newest first, without their messages.

        ``all_users`` lists everybody's, and only for an admin.
        """
        query: Document = {}
        if not (all_users and identity.is_admin):
            query["user"] = identity.username
        business = _scope(identity, business_id)
        if business is not None:
            query["business_id"] = business
        cursor = self.collection.find(query, _SUMMARY).sort(
            [("updated_at", DESCENDING), ("thread_id", DESCENDING)]
        )
        return await cursor.skip(max(offset, 0)).limit(max(limit, 0)).to_list()

    async def get_thread(self, thread_id: str, identity: Identity) -> dict[str, Any]:
        doc = await self.collection.find_one({"thread_id": thread_id}, {"_id": 0})
        if doc is None:
            raise NotFound(f"no conversation {thread_id}")
        _ensure_readable(doc, identity, None)
        return doc

    async def delete_thread(
        self, thread_id: str, identity: Identity, checkpointer: BaseCheckpointSaver[Any]
    ) -> None:
        """Delete a thread from both stores: the checkpoints first, so a failure leaves it listed, not lost.

        Its owner may delete it, and an admin (e.g. to honour an erasure request).
        """
        doc = await self.collection.find_one({"thread_id": thread_id}, {"user": 1, "business_id": 1})
        if doc is None and not identity.is_admin:
            raise NotFound(f"no conversation {thread_id}")
        if doc is not None:
            _ensure_readable(doc, identity, None)
        await checkpointer.adelete_thread(thread_id)
        await self.collection.delete_one({"thread_id": thread_id})

    async def rebuild_from_checkpoint(
        self, thread_id: str, checkpointer: BaseCheckpointSaver[Any]
    ) -> dict[str, Any]:
        """Rewrite the document from the thread's latest checkpoint (its ``messages``) and return it.

        The owner comes from the existing document, else from the graph state (``user``, ``business_id``),
        else from the checkpoint metadata (the run's ``configurable``).
        """
        found = await checkpointer.aget_tuple({"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}})
        if found is None:
            raise NotFound(f"no checkpoint for conversation {thread_id}")
        values: Mapping[str, Any] = found.checkpoint["channel_values"]
        meta: Mapping[str, Any] = found.metadata or {}
        existing = await self.collection.find_one({"thread_id": thread_id}) or {}
        stamp = to_millis(datetime.fromisoformat(found.checkpoint["ts"]))
        messages = project_messages(values.get("messages") or [], existing.get("messages") or [], stamp)
        questions = [m["content"] for m in messages if m["role"] == "user"]
        doc: Document = {
            "thread_id": thread_id,
            "user": existing.get("user") or values.get("user") or meta.get("username") or meta.get("user"),
            "business_id": existing.get("business_id")
            or values.get("business_id")
            or meta.get("business_id"),
            "title": existing.get("title") or (title_of(questions[0]) if questions else None),
            "created_at": existing.get("created_at") or (messages[0]["at"] if messages else stamp),
            "updated_at": max((m["at"] for m in messages), default=stamp),
            "messages": messages,
            "turns": len(questions),
        }
        await self.collection.replace_one({"thread_id": thread_id}, doc, upsert=True)
        return doc


def project_messages(
    messages: Sequence[BaseMessage], previous: Sequence[Mapping[str, Any]], default_at: datetime
) -> list[Document]:
    """Checkpoint messages as the document's entries; a time comes from the message's turn data, else from
    the same entry of the previous document, else ``default_at`` (the checkpoint's time)."""
    entries: list[Document] = []
    for message in messages:
        if isinstance(message, HumanMessage):
            role = "user"
        elif isinstance(message, AIMessage):
            role = "assistant"
        else:
            continue
        meta = message.additional_kwargs.get(META_KEY) or {}
        content = message.text
        before = previous[len(entries)] if len(entries) < len(previous) else {}
        known = before.get("at") if before.get("role") == role and before.get("content") == content else None
        entry: Document = {
            "role": role,
            "content": content,
            "at": _time(meta.get("at")) or known or default_at,
        }
        if role == "assistant":
            entry |= {
                "intent": meta.get("intent"),
                "sql": meta.get("sql") or None,
                "row_count": meta.get("row_count"),
            }
            if meta.get("steps"):
                entry["steps"] = meta["steps"]
        entries.append(entry)
    return entries


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return to_millis(value)
    if isinstance(value, str):
        try:
            return to_millis(datetime.fromisoformat(value))
        except ValueError:
            return None
    return None


def _scope(identity: Identity, business_id: str | None) -> str | None:
    """The business a call is about: the one named, or the user's own (none for an admin)."""
    business = (
        business_id if business_id is not None else (None if identity.is_admin else identity.business_id)
    )
    if business is not None and not identity.may_access(business):
        raise TenantDenied(f"{identity.username} may not use business {business!r}")
    return business


def _ensure_readable(doc: Mapping[str, Any], identity: Identity, business_id: str | None) -> None:
    if business_id is not None and doc.get("business_id") != business_id:
        raise TenantDenied("this conversation belongs to another business")
    if identity.is_admin:
        return
    if doc.get("user") != identity.username or doc.get("business_id") != identity.business_id:
        raise TenantDenied("this conversation belongs to another user")
