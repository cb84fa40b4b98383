"""retrieve_schema: the tables a question needs (FAISS top k plus joining tables), as prompt context:
the closest ones in full, the others as columns and keys (``tools/schema_focus.py``).

The standalone rewrite may turn out to be a verified question ("and for 2024?" after a verified one):
then its SQL is used and generation is skipped.
"""

from __future__ import annotations

from typing import Optional

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from bizsql.graph.context import Context
from bizsql.graph.state import State
from bizsql.nodes._common import begin
from bizsql.nodes.match_verified import find_verified, verified_update
from bizsql.tools.schema_docs import render_context


async def retrieve_schema(
    state: State,
    runtime: Runtime[Context],
    config: Optional[RunnableConfig] = None,  # noqa: UP045 (langgraph injects only this spelling)
) -> State:
    turn = await begin(runtime, config)
    assert turn.business is not None, "classify routes here only with a business"
    question = state.get("question", "")
    if match := await find_verified(turn, question):
        return verified_update(match)
    retrieval = await turn.deps.schema_index.retrieve(turn.business, question)
    return {
        "tables": retrieval.names,
        "glossary_terms": retrieval.terms,
        "schema_context": render_context(
            retrieval.tables,
            privacy=turn.business.privacy_mode,
            detailed=retrieval.detailed,
            asked=retrieval.asked_columns,
        ),
    }
