"""What a node may call, as interfaces: the SQL runner, business configs, the conversation log, and the
``Deps`` bundle that carries them. Nodes and tests depend on these; ``graph.clients`` builds the real ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from bizsql.auth.identity import Identity
from bizsql.config import Settings
from bizsql.llm import LlmClient
from bizsql.retrieval.index import SchemaIndex
from bizsql.sql.result import QueryResult
from bizsql.stores.business import BusinessConfig
from bizsql.stores.conversations import LoggedTurn


class SqlRunner(Protocol):
    """The executor (in-process or over MCP): guarded, read-only unless allowed, capped, timed out; and
    for a generated write, its dry run, its approved run and the record of a write that never ran."""

    async def run(self, sql: str, *, business: BusinessConfig, identity: Identity) -> QueryResult: ...

    async def dry_run(self, sql: str, *, business: BusinessConfig, identity: Identity) -> QueryResult:
        """A write rolled back: its ``rows_affected`` and a sample of the changed rows."""
        ...

    async def run_approved(
        self,
        sql: str,
        *,
        business: BusinessConfig,
        identity: Identity,
        expected_rows: int,
        approved_by: str,
    ) -> QueryResult:
        """The write, committed only if it changes ``expected_rows`` rows (else WriteChanged)."""
        ...

    async def record_decision(
        self,
        sql: str,
        *,
        business: BusinessConfig,
        identity: Identity,
        outcome: Literal["rejected", "expired"],
        rows: int | None,
        rejected_by: str | None = None,
    ) -> None:
        """Audit a write that waited for approval and never ran."""
        ...


class BusinessConfigs(Protocol):
    async def get(self, business_id: str) -> BusinessConfig: ...


class ConversationLog(Protocol):
    """The readable conversation document (``stores.conversations.ConversationStore``), written by persist."""

    async def append_turn(self, thread_id: str, turn: LoggedTurn) -> None: ...


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
        """Close what ``graph.clients.build_deps`` opened (pools, clients); safe to call twice."""
        while self.closers:
            close = self.closers.pop()
            result = close()
            if hasattr(result, "__await__"):
                await result
