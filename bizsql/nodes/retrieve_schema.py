"""retrieve_schema: the tables a question needs (FAISS top k plus joining tables), as prompt context:
the closest ones in full, the others as columns and keys (``retrieval/focus.py``).

The standalone rewrite may turn out to be a verified question ("and for 2024?" after a verified one):
then its SQL is used and generation is skipped.
"""

from __future__ import annotations

from langgraph.runtime import Runtime

from bizsql.graph.context import Context
from bizsql.graph.state import State
from bizsql.nodes.answers import verified_update
from bizsql.nodes.scope import begin
from bizsql.retrieval.table_docs import render_context


async def retrieve_schema(
    state: State,
    runtime: Runtime[Context],
) -> State:
    scope = await begin(runtime)
    assert scope.business is not None, "classify routes here only with a business"
    question = state.get("question", "")
    if match := await scope.verified_match(question):
        return verified_update(match)
    retrieval = await scope.deps.schema_index.retrieve(scope.business, question)
    return {
        "tables": retrieval.names,
        "glossary_terms": retrieval.terms,
        "schema_context": render_context(
            retrieval.tables,
            privacy=scope.business.privacy_mode,
            detailed=retrieval.detailed,
            asked=retrieval.asked_columns,
        ),
    }
