"""The run-time context of a turn: who asks, about which business, and (optionally) the clients to use.

A caller builds it with ``Context.of``. When it carries no clients (``langgraph dev``, LangServe), the
nodes use the process's defaults (``graph.clients.deps_of``). Identity comes from the context, or else
from ``configurable`` (where the API's ``per_req_config_modifier`` puts the token's user and business),
never from the graph's input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from langchain_core.runnables import RunnableConfig
from pydantic.json_schema import SkipJsonSchema

from bizsql.auth.identity import Identity, Role
from bizsql.errors import TenantDenied

if TYPE_CHECKING:
    from bizsql.graph.interfaces import Deps


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

    @classmethod
    def of(cls, identity: Identity, business_id: str | None, deps: Deps | None = None) -> Context:
        """The context of a turn that ``identity`` asks about ``business_id`` (None: general chat)."""
        return cls(
            business_id=business_id or "",
            username=identity.username,
            role=identity.role,
            home_business=identity.business_id,
            deps=deps,
        )

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
