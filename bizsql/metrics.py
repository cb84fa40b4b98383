"""The service's Prometheus metrics, on the process-wide registry so every module's metrics reach /metrics
(the checkpointer's conversation-cache reads, ``bizsql_memory_reads_total``, among them)."""

from __future__ import annotations

from prometheus_client import REGISTRY, Counter, Histogram

__all__ = ["REGISTRY"]

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

HTTP_REQUESTS = Counter(
    "bizsql_http_requests", "HTTP requests by route template and status.", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "bizsql_http_request_duration_seconds",
    "Time from request to the end of the response (a whole stream for SSE), by route template.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
CHAT_TURNS = Counter(
    "bizsql_chat_turns",
    "Chat turns answered, by business, intent and source.",
    ["business", "intent", "source"],
)
LLM_CALLS = Counter("bizsql_llm_calls", "LLM requests that reported usage, by business.", ["business"])
LLM_TOKENS = Counter(
    "bizsql_llm_tokens", "LLM tokens reported by the provider, by business and kind.", ["business", "kind"]
)
SQL_REFUSALS = Counter("bizsql_sql_refusals", "Statements the SQL guard refused, by business.", ["business"])
RATE_LIMITED = Counter(
    "bizsql_rate_limited",
    "Requests refused by a rate limit (login-ip, login-user, chat) or token budget.",
    ["scope"],
)
AUTH_FAILURES = Counter("bizsql_auth_failures", "Rejected logins and tokens, by endpoint.", ["endpoint"])
REDIS_FAIL_OPEN = Counter(
    "bizsql_redis_fail_open", "Checks skipped because Redis did not answer (redis_fail_open).", ["check"]
)
