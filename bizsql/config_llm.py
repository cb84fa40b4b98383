"""The chat model's part of ``Settings``: which provider runs it and how structured answers are asked for.

A base class only so that config.py stays one idea per screen; everything reads these as ``Settings``
fields. Combinations that cannot work (openai_compatible without a URL or a model name) are refused when the
settings are read, so the service does not start, instead of failing at the first turn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import AliasChoices, Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings

DEFAULT_LOCAL_MODEL = "qwen2.5-coder-1.5b"
StructuredMode = Literal["tools", "json_schema", "json_object_schema", "json_mode"]


class LlmSettings(BaseSettings):
    """The LLM settings (env prefix and the rest of the configuration: ``bizsql.config.Settings``)."""

    llm_provider: Literal["mistral", "openai_compatible", "local"] = Field(
        "mistral",
        description="Who runs the chat model: mistral (MISTRAL_API_KEY), openai_compatible (any chat-"
        "completions server: llama-server, vLLM, Ollama; BIZSQL_LLM_BASE_URL) or local (a GGUF file).",
    )
    llm_model: str = Field(
        "mistral-small-latest",
        description="Chat model name: Mistral's, the one the OpenAI-compatible server serves (required "
        "there), or for local an installed model (`bizsql model install`). Unset with local: "
        f"{DEFAULT_LOCAL_MODEL}.",
    )
    llm_base_url: str | None = Field(
        None,
        validate_default=True,
        description="The OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1. With local: a runtime "
        "already serving the model, so none is started (`bizsql serve --workers N` gives its workers the "
        "one it started).",
    )
    llm_api_key: SecretStr | None = Field(
        None,
        description="API key for the OpenAI-compatible server. Unset: a placeholder (local ones want none).",
    )
    llm_structured: StructuredMode | None = Field(
        None,
        description="How structured answers (classification, SQL) are asked for: tools (function calling), "
        "json_schema (a schema the server enforces, e.g. as a grammar), json_object_schema (the same, "
        "sent as llama.cpp's servers take it: a json_object with a schema) or json_mode (any JSON object, "
        "the schema in the prompt); answers that do not parse are repaired, then retried once. "
        "Unset: tools with mistral, json_object_schema with local, json_schema otherwise.",
    )
    llm_model_path: Path | None = Field(
        None,
        description="For local: the GGUF file to run. Unset: the file `bizsql model install` put in the "
        "data directory for BIZSQL_LLM_MODEL.",
    )
    llm_max_tokens: int = Field(
        1024,
        ge=16,
        description="For openai_compatible and local: the most tokens one answer may have, so a small model "
        "that never stops cannot fill its whole context (llama.cpp's servers have no limit of their own).",
    )
    llm_local_context: int = Field(
        8192, ge=512, description="For local: the context window, in tokens, the runtime is started with."
    )
    llm_local_threads: int | None = Field(
        None, ge=1, description="For local: CPU threads the runtime uses. Unset: one per core."
    )
    llm_local_cache_mb: int = Field(
        512,
        ge=0,
        description="For local with llama-cpp-python: memory for the model states of prompts already read, "
        "so a prompt that starts like an earlier one (the same business's system prompt, the same schema) "
        "reads only the rest, even when other prompts came between. 0: off, and only the previous "
        "request's prefix is reused. llama-cpp-python counts only the KV cache against this; each state also "
        "keeps 64 tokens of logits (39 MB for Qwen2.5), so memory can reach a few times this for short "
        "prompts. llama-server keeps its own per-slot prefix cache.",
    )
    mistral_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("MISTRAL_API_KEY", "BIZSQL_MISTRAL_API_KEY"),
        description="Mistral API key. Unset: only verified queries are answered.",
    )
    mistral_base_url: str | None = Field(
        None,
        validation_alias=AliasChoices("MISTRAL_BASE_URL", "BIZSQL_MISTRAL_BASE_URL"),
        description="Mistral API endpoint, e.g. a local stub for tests.",
    )

    @field_validator("llm_base_url")
    @classmethod
    def _base_url_for_openai_compatible(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Checked at start, not at the first turn: an OpenAI-compatible provider needs its server's URL."""
        if info.data.get("llm_provider") == "openai_compatible" and not value:
            raise ValueError(
                "required with BIZSQL_LLM_PROVIDER=openai_compatible: the server's chat-completions "
                "endpoint, e.g. http://127.0.0.1:8080/v1"
            )
        return value or None

    @model_validator(mode="after")
    def _model_for_provider(self) -> Self:
        """An OpenAI-compatible server names its own models, so one must be given; local has a default."""
        if "llm_model" not in self.model_fields_set and self.llm_provider == "openai_compatible":
            raise ValueError("BIZSQL_LLM_MODEL is required with BIZSQL_LLM_PROVIDER=openai_compatible")
        if "llm_model" not in self.model_fields_set and self.llm_provider == "local":
            self.__dict__["llm_model"] = DEFAULT_LOCAL_MODEL  # not an assignment: it stays "not set"
        return self

    @property
    def structured_mode(self) -> StructuredMode:
        """BIZSQL_LLM_STRUCTURED, else function calling for Mistral and a JSON schema for the others
        (small local models often cannot call tools), in the form the local runtimes take."""
        if self.llm_structured is not None:
            return self.llm_structured
        defaults: dict[str, StructuredMode] = {"mistral": "tools", "local": "json_object_schema"}
        return defaults.get(self.llm_provider, "json_schema")
