"""Typed errors every layer raises; the API maps each to one HTTP status in one place."""

from __future__ import annotations


class BizsqlError(Exception):
    """Base: ``code`` is the stable machine-readable name, the message is for people."""

    code = "error"
    status = 500

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class SqlRejected(BizsqlError):
    """The guard (or a business rule such as the cost ceiling) refused a statement before it ran."""

    code, status = "sql_rejected", 400

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class QueryFailed(BizsqlError):
    """The database refused or failed a statement that the guard let through."""

    code, status = "query_failed", 422


class QueryTimeout(QueryFailed):
    code, status = "query_timeout", 504


class WriteChanged(BizsqlError):
    """An approved write would now change another number of rows than its dry run showed: rolled back."""

    code, status = "approval_stale", 409

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(
            f"the write would now change {actual:,} row(s), not the {expected:,} that were approved; "
            "it was rolled back and nothing changed"
        )
        self.expected, self.actual = expected, actual


class ApprovalConflict(BizsqlError):
    """The approval cannot be decided: none is pending, another one is, or it expired."""

    code, status = "approval_conflict", 409


class ApprovalExpired(ApprovalConflict):
    code = "approval_expired"


class TenantDenied(BizsqlError):
    """A user reached for a business or a thread that is not theirs."""

    code, status = "forbidden", 403


class NotFound(BizsqlError):
    code, status = "not_found", 404


class LlmUnavailable(BizsqlError):
    """No LLM is configured, or it kept failing after retries."""

    code, status = "llm_unavailable", 503


class LlmOutputInvalid(LlmUnavailable):
    """The model answered, but not with the JSON asked for, even repaired and asked once more."""

    code = "llm_output_invalid"


class LlmMisconfigured(BizsqlError):
    """The configured LLM provider cannot be built (a missing runtime or model file): found at start."""

    code, status = "llm_misconfigured", 503


class MemoryUnavailable(BizsqlError):
    """Both conversation stores (Redis and MongoDB) are down."""

    code, status = "memory_unavailable", 503


class RateLimited(BizsqlError):
    code, status = "rate_limited", 429

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class AuthFailed(BizsqlError):
    """Missing, forged, expired or revoked credentials; the detail never says which secret was wrong."""

    code, status = "unauthorized", 401


class ServiceUnavailable(BizsqlError):
    """A store the request cannot do without (e.g. Redis for login) does not answer."""

    code, status = "service_unavailable", 503
