"""What every node starts from (``begin``): a ``RunScope``, the run's identity, its clients and the
business it asks about. (The request a client sends is ``graph.run.Turn``.)"""

from __future__ import annotations

from dataclasses import dataclass

from langgraph.config import get_config
from langgraph.runtime import Runtime

from bizsql.graph.clients import deps_of
from bizsql.graph.context import Context, resolve_context
from bizsql.graph.interfaces import Deps
from bizsql.retrieval.index import VerifiedMatch
from bizsql.retrieval.verified import find_verified
from bizsql.stores.business import BusinessConfig


@dataclass(frozen=True)
class RunScope:
    """One node's view of the run: who asks (``ctx``), the clients (``deps``), the business's config."""

    ctx: Context
    deps: Deps
    business: BusinessConfig | None

    @property
    def business_id(self) -> str:
        return self.business.business_id if self.business else ""

    async def verified_match(self, question: str) -> VerifiedMatch | None:
        """The business's verified question that this question is, if any."""
        return await find_verified(
            self.deps.schema_index,
            self.business,
            question,
            threshold=self.deps.settings.verified_similarity_threshold,
        )


async def begin(runtime: Runtime[Context]) -> RunScope:
    """Identity, clients and (when a business is named) its config, for one node of a running graph."""
    ctx = resolve_context(runtime.context, get_config())
    deps = await deps_of(ctx)
    business = await deps.configs.get(ctx.business_id) if ctx.business_id else None
    return RunScope(ctx, deps, business)
