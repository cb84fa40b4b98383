"""The run-time context of a turn: who asks, about which business, and the clients the nodes use.

Nodes never open connections: they take clients from ``Deps``. A caller passes them in
``Context(deps=...)``; when it does not (``langgraph dev``, LangServe), the process's default ``Deps``
is built lazily from settings, once per event loop (see ``bizsql.graph.deps``). Identity comes from the
context, or else from ``configurable`` (where the API's ``per_req_config_modifier`` puts the token's
user and business), never from the graph's input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from langchain_core.runnables import RunnableConfig
from pydantic.json_schema import SkipJsonSchema

from bizsql.auth.identity import Identity, Role
from bizsql.config import Settings
from bizsql.errors import TenantDenied
from bizsql.llm import LlmClient
from bizsql.stores.business import BusinessConfig
from bizsql.tools.schema_index import SchemaIndex


class QueryResultLike(Protocol):
    columns: list[str]
    rows: list[list[Any]]
    row_count: int
    truncated: bool
    kind: str
    rows_affected: int | None
    duration_ms: float


class SqlRunner(Protocol):
    """The executor (in-process or over MCP): guarded, read-only unless allowed, capped, timed out."""

    async def run(self, sql: str, *, business: BusinessConfig, identity: Identity) -> Any: ...


class BusinessConfigs(Protocol):
    async def get(self, business_id: str) -> BusinessConfig: ...


class ConversationLog(Protocol):
    """The readable conversation document (``stores.conversations.ConversationStore``), written by persist."""

    async def append_turn(
        self,
        thread_id: str,
        *,
        identity: Identity,
        business_id: str | None,
        user_message: str,
        assistant_message: str,
        intent: str,
        sql: str | None,
        row_count: int | None,
        at: datetime,
    ) -> None: ...


@dataclass
class Deps:
    """Everything a node may call; built once per process (or per test) and shared by all turns."""

    settings: Settings
    configs: BusinessConfigs
    schema_index: SchemaIndex
    executor: SqlRunner
    llm: LlmClient | None = None
    conversations: ConversationLog | None = None
    closers: list[Any] = field(default_factory=list, repr=False)

    async def aclose(self) -> None:
        """Close what ``build_deps`` opened (pools, clients); safe to call twice."""
        while self.closers:
            close = self.closers.pop()
            result = close()
            if hasattr(result, "__await__"):
                await result


@dataclass(kw_only=True)
class Context:
    """Per-run context. ``business_id`` is the business asked about (empty: general conversation);
    ``home_business`` is the user's own from the token (``all`` for an admin), checked against it.
    ``deps`` holds the clients and is not part of the JSON schema."""

    business_id: str = ""
    username: str = ""
    role: Role = "analyst"
    home_business: str = ""
    deps: SkipJsonSchema[Any] = field(default=None, repr=False, compare=False)

    @property
    def identity(self) -> Identity:
        if not self.home_business:
            raise TenantDenied("the run's context names no home business for its user")
        return Identity(self.username, self.role, self.home_business)


IDENTITY_KEYS = ("business_id", "username", "role", "home_business")


def resolve_context(context: Context | None, config: RunnableConfig | None) -> Context:
    """The run's context; when it names nobody, the identity the API put into ``configurable``."""
    if context is not None and context.username:
        return context
    conf = (config or {}).get("configurable", {}) or {}
    username = str(conf.get("username") or conf.get("user") or "")
    if not username:
        raise TenantDenied("no user for this run: pass a Context, or username/business_id in configurable")
    role = str(conf.get("role") or "analyst")
    if role not in ("admin", "editor", "analyst"):
        raise TenantDenied(f"unknown role {role!r}")
    return Context(
        business_id=str(conf.get("business_id") or ""),
        username=username,
        role=role,  # type: ignore[arg-type]
        home_business=str(conf.get("home_business") or ""),
        deps=context.deps if context is not None else None,
    )


async def deps_of(context: Context) -> Deps:
    """The context's clients, or the process defaults for this event loop."""
    if context.deps is not None:
        return context.deps
    from bizsql.graph.deps import default_deps

    return await default_deps()
