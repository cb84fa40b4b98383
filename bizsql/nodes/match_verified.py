"""match_verified: answer from a verified query when the question is one, with no LLM call at all.

The matching rules (similarity, and the same numbers, names and contrast words) are in
``retrieval.verified``; retrieve_schema applies them again to the standalone rewrite of a follow-up.
"""

from __future__ import annotations

from langgraph.runtime import Runtime

from bizsql.graph.context import Context
from bizsql.graph.state import State
from bizsql.nodes.answers import verified_update
from bizsql.nodes.scope import begin


async def match_verified(state: State, runtime: Runtime[Context]) -> State:
    """Before any LLM call: the question as typed, against the business's verified questions."""
    if state.get("answer"):
        return {}
    scope = await begin(runtime)
    match = await scope.verified_match(state.get("question", ""))
    return verified_update(match) if match else {}
