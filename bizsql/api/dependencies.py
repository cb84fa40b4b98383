"""FastAPI dependencies: who is calling, and what they may reach. Isolation is decided here, once.

``authorize_business`` is the one rule for businesses and ``authorize_turn`` applies it (plus thread
ownership and the chat rate limit) for every way of running a turn: /chat, /chat/stream and LangServe.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

import structlog
from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from redis.exceptions import RedisError

from bizsql.api.services import Services
from bizsql.api.session_cookie import cookie_token
from bizsql.auth.access import identify_token
from bizsql.auth.identity import ALL_BUSINESSES, Identity
from bizsql.errors import NotFound, ServiceUnavailable, TenantDenied
from bizsql.graph.run import Turn
from bizsql.metrics import REDIS_FAIL_OPEN
from bizsql.stores.business import BusinessConfig

log = structlog.get_logger(__name__)

bearer = HTTPBearer(auto_error=False, description="The access token from POST /auth/login.")


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def identify(services: Services, token: str | None) -> Identity:
    """The user of a valid access token whose session is still open, as stored now (a role or business
    changed since login applies), or AuthFailed when the user has been disabled or deleted."""
    identity, _ = await identify_token(
        services.tokens,
        services.users,
        token,
        redis_fail_open=services.settings.redis_fail_open,
        endpoint="access",
    )
    return identity


async def current_identity(
    request: Request,
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Identity:
    token = credentials.credentials if credentials else cookie_token(request)  # the playground's session
    identity = await identify(services, token)
    request.state.identity = identity
    structlog.contextvars.bind_contextvars(user=identity.username)
    return identity


IdentityDep = Annotated[Identity, Depends(current_identity)]


async def require_admin(identity: IdentityDep) -> Identity:
    if not identity.is_admin:
        raise TenantDenied("this endpoint is for administrators")
    return identity


AdminDep = Annotated[Identity, Depends(require_admin)]


def authorize_business(identity: Identity, requested: str | None) -> str | None:
    """The business a request acts on: the token's own, or for an admin any named one (None: general)."""
    if identity.is_admin:
        return requested or None
    if requested is None or requested == identity.business_id:
        return identity.business_id
    raise TenantDenied(f"user {identity.username!r} may not access business {requested!r}")


async def business_config(services: Services, business_id: str | None) -> BusinessConfig | None:
    """The config of the business, or NotFound (404) when it does not exist."""
    if business_id is None:
        return None
    if business_id == ALL_BUSINESSES:
        raise NotFound("name one business, or none for a general conversation")
    return await services.configs.get(business_id)


@dataclass(frozen=True)
class BusinessScope:
    identity: Identity
    business: BusinessConfig | None

    @property
    def business_id(self) -> str | None:
        return self.business.business_id if self.business else None


async def authorize_scope(services: Services, identity: Identity, requested: str | None) -> BusinessScope:
    business_id = authorize_business(identity, requested)
    return BusinessScope(identity, await business_config(services, business_id))


async def hit_chat_limit(services: Services, scope: BusinessScope) -> None:
    """Per user, a minute's worth of turns; a business config may set its own number."""
    settings = services.settings
    per_minute = (scope.business and scope.business.chat_rate_per_minute) or settings.chat_rate_per_minute
    try:
        await services.limiter.hit("chat", per_minute, scope.identity.username, what="chat turns")
    except RedisError as exc:
        if not settings.redis_fail_open:
            raise ServiceUnavailable("the rate limiter (Redis) does not answer") from exc
        REDIS_FAIL_OPEN.labels(check="chat_rate").inc()


async def authorize_thread(services: Services, scope: BusinessScope, thread_id: str | None) -> str:
    """The thread a turn goes to: one this user started under this business (else 403), or a new one.

    A client-chosen id is bound to the caller before the turn runs, so nobody can race for it; an id we
    make here is unguessable, and the turn's persist step binds it with its first answer.
    """
    if thread_id is None:
        return uuid.uuid4().hex
    await services.conversations.bind_thread(thread_id, scope.identity, scope.business_id)
    return thread_id


async def authorize_turn(
    services: Services, identity: Identity, business_id: str | None, thread_id: str | None, message: str
) -> Turn:
    """Everything checked before a turn runs, in this order: business, rate limit, thread."""
    scope = await authorize_scope(services, identity, business_id)
    await hit_chat_limit(services, scope)
    thread = await authorize_thread(services, scope, thread_id)
    return Turn(identity=identity, business_id=scope.business_id, thread_id=thread, message=message)


def check_message(services: Services, message: str, field: str = "message") -> str:
    """The settings' length limit (the schema's own limit is only the hard ceiling); a refusal names
    ``field``, the body field the text came from."""
    text = message.strip()
    limit = services.settings.message_max_chars
    if not text or len(text) > limit:
        what = "must not be blank" if not text else f"must be at most {limit} characters"
        raise RequestValidationError([{"loc": ("body", field), "msg": f"{field} {what}", "type": "value"}])
    return text
