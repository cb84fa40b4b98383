"""The classic approach, in the same harness: the whole schema in one prompt, one LLM call, no retry.

What LangChain's SQL chains and early Vanna do: every table of the business goes into the prompt in full
(the DDL-like rendering, comments and sample values bizsql uses for the tables it shows in full), with no
retrieval, no verified examples and no second try after a database error. The SQL goes through the same
guard and executor as bizsql's, as the business's reader role, with the same model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from bizsql.auth.identity import Identity
from bizsql.errors import BizsqlError
from bizsql.evals.prompts import BASELINE_HUMAN, BASELINE_SYSTEM
from bizsql.graph.interfaces import SqlRunner
from bizsql.llm import LlmClient
from bizsql.nodes.generate_sql import SqlDraft
from bizsql.retrieval.index import SchemaSource
from bizsql.retrieval.table_docs import render_context
from bizsql.sql.guard import check_sql
from bizsql.stores.business import BusinessConfig


@dataclass(frozen=True)
class BaselineAnswer:
    """The baseline's SQL and its rows, or why there are none (``code: detail``)."""

    sql: str
    columns: list[str] | None = None
    rows: list[list[Any]] | None = None
    error: str | None = None


class WholeSchemaBaseline:
    def __init__(self, llm: LlmClient, executor: SqlRunner, source: SchemaSource) -> None:
        self.llm = llm
        self.executor = executor
        self.source = source
        self._schemas: dict[str, str] = {}

    async def schema(self, business: BusinessConfig) -> str:
        """Every table of the business, rendered once per run."""
        if business.business_id not in self._schemas:
            tables = await self.source.describe(business)
            self._schemas[business.business_id] = render_context(tables, privacy=business.privacy_mode)
        return self._schemas[business.business_id]

    async def messages(
        self, business: BusinessConfig, question: str, history: Sequence[tuple[str, str]]
    ) -> list[BaseMessage]:
        system = BASELINE_SYSTEM.format(
            business_name=business.name,
            glossary="\n".join(f"- {k}: {v}" for k, v in business.glossary.items()) or "(none)",
            instructions=business.instructions or "(none)",
            schema=await self.schema(business),
        )
        earlier = "\n".join(f"Q: {q}\nSQL: {' '.join(s.split())}" for q, s in history) or "(none)"
        human = BASELINE_HUMAN.format(history=earlier, question=question)
        return [SystemMessage(system), HumanMessage(human)]

    async def answer(
        self,
        business: BusinessConfig,
        identity: Identity,
        question: str,
        history: Sequence[tuple[str, str]] = (),
    ) -> BaselineAnswer:
        """One question: one LLM call, the guard, the executor; any failure is final."""
        messages = await self.messages(business, question, history)
        try:
            draft, _ = await self.llm.structured(SqlDraft, messages, business_id=business.business_id)
        except BizsqlError as exc:
            return BaselineAnswer("", error=f"{exc.code}: {exc.detail}")
        sql = draft.sql.strip().rstrip(";").strip()
        verdict = check_sql(sql, allow_writes=False)
        if not verdict.allowed:
            return BaselineAnswer(sql, error=f"sql_rejected: {verdict.reason}")
        try:
            result = await self.executor.run(sql, business=business, identity=identity)
        except BizsqlError as exc:
            return BaselineAnswer(sql, error=f"{exc.code}: {exc.detail}")
        return BaselineAnswer(sql, list(result.columns), [list(r) for r in result.rows])
