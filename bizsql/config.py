"""Every setting bizsql reads, in one pydantic-settings class with embedded-mode defaults."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import AliasChoices, Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from bizsql.config_llm import LlmSettings
from bizsql.urls import mask_url, mongo_url_database, require_token_safe

SECRET_FILE = "instance-secret"
DEFAULT_MONGO_DB = "bizsql"
SERVER_URLS = ("postgres_url", "redis_url", "mongo_url")
"""The fields naming the three servers; an unset one means "start it embedded"."""


class Settings(LlmSettings):
    """bizsql configuration. Unset server URLs mean "start an embedded server for me". The chat model's
    settings come first, from ``LlmSettings``."""

    model_config = SettingsConfigDict(env_prefix="BIZSQL_", extra="ignore", populate_by_name=True)

    postgres_url: str | None = Field(
        None,
        description="Superuser DSN of the PostgreSQL server that holds the business databases; "
        "it creates and introspects them. Unset: start embedded pgserver.",
    )
    redis_url: str | None = Field(
        None, description="Redis URL for conversation cache and rate limits. Unset: start embedded Valkey."
    )
    mongo_url: str | None = Field(
        None,
        description="MongoDB URL for users, business configs, conversations and audit logs. "
        "Unset: start embedded SecantusDB.",
    )
    mongo_db: str = Field(
        DEFAULT_MONGO_DB,
        description="MongoDB database. Unset: the one BIZSQL_MONGO_URL names (mongodb://host/db), else "
        "bizsql; set, it wins over the URL's. The value shown says which of the three it is.",
    )
    data_dir: Path = Field(
        Path(".bizsql"), description="Where embedded servers, FAISS indexes and instance secrets live."
    )
    jwt_secret: SecretStr | None = Field(
        None,
        description="HMAC key for JWTs. Unset: a random key is created once under the data directory.",
    )
    role_secret: SecretStr | None = Field(
        None,
        description="Key from which business database role passwords are derived. "
        "Unset: the instance secret under the data directory.",
    )
    demo_password: SecretStr = Field(
        SecretStr("demo-pass-123"), description="Password of the seeded demo users."
    )
    host: str = Field("127.0.0.1", description="Address `bizsql serve` binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Port `bizsql serve` listens on.")
    workers: int = Field(
        1,
        ge=1,
        description="Server processes `bizsql serve` runs on the one port. Above 1 they share rate limits, "
        "token budgets and conversations through Redis and MongoDB; 1 serves in the command's own process.",
    )
    log_level: str = Field("INFO", description="Log level.")
    access_token_minutes: int = Field(120, ge=1, description="Lifetime of access tokens, in minutes.")
    refresh_token_days: int = Field(7, ge=1, description="Lifetime of refresh tokens, in days.")
    conversation_ttl_seconds: int = Field(
        3600, ge=1, description="TTL of the Redis copy of conversation checkpoints."
    )
    context_messages: int = Field(20, ge=1, description="Messages of history given to the LLM.")
    classify_messages: int = Field(4, ge=0, description="Messages of history used for classification.")

    # --- conversation memory (issue 4): the Redis + MongoDB checkpointer's fault handling -------------
    memory_redis_timeout_ms: int = Field(
        500,
        ge=50,
        description="Checkpointer's Redis connect and socket timeout: a Redis that stops answering costs "
        "this long once, then the checkpointer goes on against MongoDB.",
    )
    memory_mongo_timeout_ms: int = Field(
        500,
        ge=50,
        description="Checkpointer's MongoDB server-selection timeout: a stopped MongoDB costs this long "
        "once, then writes wait in Redis.",
    )
    memory_mongo_socket_timeout_ms: int = Field(
        2000,
        ge=100,
        description="Checkpointer's MongoDB connect and socket timeout: how long a query may take on a "
        "server that accepted it (a hung server), and pymongo's heartbeats.",
    )
    memory_retry_seconds: float = Field(
        2.0,
        gt=0,
        description="After a store fails, the checkpointer skips it this long before trying it again.",
    )
    memory_flush_seconds: float = Field(
        5.0,
        gt=0,
        description="How often the server flushes checkpoints held in Redis (while MongoDB was down) to "
        "MongoDB.",
    )
    memory_key_prefix: str = Field("bizsql:ckpt", description="Prefix of the checkpointer's Redis keys.")

    # --- graph workflow (issue 6): retrieval, verified queries, SQL retries, LLM calls ---------------
    verified_similarity_threshold: float = Field(
        0.9,
        ge=0.0,
        le=1.0,
        description="Cosine similarity above which a question is answered by a verified query's SQL, "
        "with no LLM call.",
    )
    verified_examples: int = Field(
        2, ge=0, description="Most similar verified queries shown to the LLM as examples."
    )
    verified_example_min_similarity: float = Field(
        0.65,
        ge=0.0,
        le=1.0,
        description="Cosine similarity a verified query needs to be shown as an example (less similar "
        "ones cost tokens and teach little).",
    )
    retrieval_top_k: int = Field(5, ge=1, description="Tables retrieved from the schema index per question.")
    retrieval_bridge_tables: int = Field(
        3, ge=0, description="Most tables added because they join the retrieved ones through foreign keys."
    )
    retrieval_detail_tables: int = Field(
        3,
        ge=0,
        description="Most retrieved tables the SQL prompt shows with comments and sample values; the "
        "others show only their columns and keys.",
    )
    retrieval_detail_ratio: float = Field(
        0.7,
        ge=0.0,
        le=1.0,
        description="A retrieved table after the best one is shown in full when its score is at least "
        "this share of the best one's.",
    )
    retrieval_keep_ratio: float = Field(
        0.55,
        ge=0.0,
        le=1.0,
        description="A retrieved table that joins no table shown in full stays in the prompt only when its "
        "score is at least this share of the best one's.",
    )
    schema_fingerprint_ttl_seconds: float = Field(
        5.0,
        ge=0.0,
        description="How long a business's schema fingerprint is trusted before it is read again "
        "(a changed fingerprint rebuilds the index).",
    )
    business_config_ttl_seconds: float = Field(
        10.0, ge=0.0, description="How long a business config read from MongoDB is reused by the graph."
    )
    max_sql_retries: int = Field(
        2,
        ge=0,
        description="Times a database error sends the SQL back to the LLM to fix, after the first try.",
    )
    max_steps: int = Field(
        4,
        ge=1,
        le=10,
        description="Most steps (queries) of a planned multi-step turn; a plan the LLM writes longer is cut.",
    )
    plan_step_tokens: int = Field(
        4000,
        ge=0,
        description="LLM tokens one plan step is expected to use, for the budget check that refuses a "
        "plan before it starts when the business's daily budget cannot pay for all of its steps.",
    )
    plan_prior_rows: int = Field(
        50,
        ge=0,
        description="Rows of an earlier step shown to the LLM writing a later step's SQL (none in privacy "
        "mode, where it reuses the earlier step's SQL instead).",
    )
    summary_rows: int = Field(
        20, ge=0, description="Result rows shown to the LLM to write the summary (none in privacy mode)."
    )
    llm_timeout_seconds: int = Field(60, ge=1, description="Timeout of one LLM request.")
    llm_attempts: int = Field(
        3, ge=1, description="Tries per LLM call (with exponential backoff) before LlmUnavailable."
    )
    llm_temperature: float = Field(0.0, ge=0.0, le=1.0, description="Sampling temperature of the LLM.")
    mcp_url: str | None = Field(
        None,
        description="Streamable-HTTP URL of a running `bizsql mcp` server; set, the graph executes SQL "
        "through it instead of in-process.",
    )
    mcp_token: SecretStr | None = Field(
        None,
        description="Only for an MCP server of another deployment: the access token (its POST /auth/login) "
        "the MCP client sends to BIZSQL_MCP_URL; SQL there runs as that user, and it expires like any access "
        "token. Unset: the client signs 5-minute service tokens with BIZSQL_JWT_SECRET and each call acts as "
        "the asking user.",
    )

    # --- secure SQL (issue 5): executor pools, connection retries, audit ------------------------------
    sql_pool_max_size: int = Field(
        4, ge=1, description="Most connections per business and role in the SQL executor's pools."
    )
    sql_pool_timeout_seconds: float = Field(
        10.0, gt=0, description="How long a query waits for a free pooled connection before it fails."
    )
    sql_connect_attempts: int = Field(
        3, ge=1, description="Tries (with backoff) when a business database connection fails or breaks."
    )
    approval_ttl_seconds: int = Field(
        900,
        ge=1,
        description="How long a generated write waits for its approval before the approval expires.",
    )
    audit_reads: bool = Field(
        False,
        description="Also record every read in MongoDB audit_logs (writes and refusals always are).",
    )
    sql_catalog_seconds: float = Field(
        30.0,
        ge=0,
        description="How long the executor reuses a business's table and column list (what the guard "
        "resolves names against) before reading it again; a name it does not know rereads it at once.",
    )

    # --- service (issue 7): rate limits, request limits, CORS and headers, conversations paging ----------
    login_rate_per_minute_ip: int = Field(
        30,
        ge=1,
        description="Login attempts, successful or not, allowed per client IP per minute (moving window, in "
        "Redis): each costs a password hash, so this bounds one address's load and stops a flood.",
    )
    login_failures_per_minute_user_ip: int = Field(
        5,
        ge=1,
        description="Failed logins allowed per username from one client IP per minute (moving window, in "
        "Redis); a successful login forgets the username's failures.",
    )
    login_rate_per_minute_user: int = Field(
        20,
        ge=1,
        description="Failed logins allowed per username per minute from all client IPs together (a password "
        "guessed from many addresses); a successful login forgets them.",
    )
    chat_rate_per_minute: int = Field(
        30,
        ge=1,
        description="Chat turns allowed per user per minute; a business config's chat_rate_per_minute "
        "overrides it for that business.",
    )
    message_max_chars: int = Field(
        4000, ge=1, le=32000, description="Longest chat message accepted, in characters."
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins allowed by CORS, comma-separated (e.g. https://app.example.com). Empty: none.",
    )
    security_headers: bool = Field(
        True, description="Send nosniff, frame-deny, referrer and no-store headers on every response."
    )
    hsts_seconds: int = Field(
        0, ge=0, description="Strict-Transport-Security max-age; set it only behind HTTPS. 0: not sent."
    )
    redis_fail_open: bool = Field(
        True,
        description="With Redis down, accept valid access tokens without the revocation check and skip "
        "chat rate limits and token budgets, so chats go on from MongoDB. Login and refresh always "
        "need Redis.",
    )
    user_recheck_seconds: float = Field(
        5.0,
        ge=0.0,
        le=300.0,
        description="How long one server process trusts what it last read of a user (disabled, role, "
        "business) before reading MongoDB again: disabling a user or changing their role reaches tokens "
        "already issued within this time. 0: read it on every request.",
    )
    conversations_page_size: int = Field(
        20, ge=1, le=100, description="Threads per page of GET /conversations when none is asked for."
    )
    max_body_bytes: int = Field(
        1_048_576, ge=1024, description="Largest request body accepted; larger ones get 413 unread."
    )

    _mongo_db_source: str = PrivateAttr("")

    @model_validator(mode="after")
    def _resolve_mongo_db(self) -> Self:
        return self._with_mongo_db()

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy resolves the database again, since copies skip validators: a new ``mongo_url`` (the
        embedded server's, a test's) brings its own database unless ``mongo_db`` was set."""
        return super().model_copy(update=update, deep=deep)._with_mongo_db()

    def _with_mongo_db(self) -> Self:
        """The database every MongoDB user reads as ``mongo_db``: BIZSQL_MONGO_DB when set (not empty),
        else the URL's, else bizsql."""
        url_db = mongo_url_database(self.mongo_url)
        if "mongo_db" in self.model_fields_set and self.mongo_db:
            over = f", over the URL's {url_db}" if url_db and url_db != self.mongo_db else ""
            self._mongo_db_source = f"set by BIZSQL_MONGO_DB{over}"
            return self
        self.__dict__["mongo_db"] = url_db or DEFAULT_MONGO_DB  # not an assignment: it stays "not set"
        self.__pydantic_fields_set__.discard("mongo_db")
        self._mongo_db_source = (
            "named by BIZSQL_MONGO_URL" if url_db else "default: BIZSQL_MONGO_URL names none"
        )
        return self

    @field_validator("mcp_url")
    @classmethod
    def _mcp_url_is_token_safe(cls, value: str | None) -> str | None:
        """Checked at start: the graph sends bearer tokens to this URL."""
        return require_token_safe(value) if value else value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        """Accept a comma-separated string from the environment as well as a JSON list."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    def secret_values(self) -> tuple[str, str]:
        """The JWT and role secrets, falling back to one random instance secret kept on disk."""
        fallback: str | None = None
        values = []
        for configured in (self.jwt_secret, self.role_secret):
            if configured is not None:
                values.append(configured.get_secret_value())
                continue
            fallback = fallback or instance_secret(self.data_dir)
            values.append(fallback)
        return values[0], values[1]

    @classmethod
    def variable(cls, field: str) -> str:
        """The environment variable that sets ``field`` (the field name itself when there is none)."""
        info = cls.model_fields.get(field)
        return _env_name(field, info.validation_alias) if info is not None else field

    def described(self) -> list[tuple[str, str, str]]:
        """(env var, value with secrets masked, description) for `bizsql config`."""
        rows = []
        for name, info in type(self).model_fields.items():
            value: Any = getattr(self, name)
            env = _env_name(name, info.validation_alias)
            if isinstance(value, SecretStr):
                shown = "********"
            elif name.endswith("_url") and value:
                shown = mask_url(str(value))
            elif name == "mongo_db":
                shown = f"{value} ({self._mongo_db_source})"
            elif name == "llm_structured" and value is None:
                shown = f"(unset: {self.structured_mode} with {self.llm_provider})"
            else:
                shown = "(unset)" if value is None else str(value)
            rows.append((env, shown, info.description or ""))
        return rows


def _env_name(name: str, alias: Any) -> str:
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return f"BIZSQL_{name.upper()}"


def instance_secret(data_dir: Path) -> str:
    """A random key created once per data directory, so restarts keep tokens and role passwords valid."""
    path = data_dir / SECRET_FILE
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(value)
    return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
