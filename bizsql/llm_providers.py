"""The one place that knows which LLM provider runs the chat model: Mistral, an OpenAI-compatible server,
or a local GGUF file. Everything else gets a langchain chat model and does not ask whose it is.

Building opens no connection. Each provider uses the langchain integration made for it (ChatMistralAI,
ChatOpenAI with a ``base_url``); the local provider serves its GGUF file over the same chat-completions API
(``bizsql.local_model``) and so is a ChatOpenAI too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel

from bizsql.config import Settings, mask_url

MISTRAL_ENDPOINT = "https://api.mistral.ai/v1"
NO_KEY_NEEDED = "no-key-needed"
"""What ChatOpenAI sends as the key when none is configured: it insists on one, local servers want none."""


@dataclass(frozen=True)
class ProviderModel:
    """A chat model, and the variable to check when its provider rejects the key."""

    model: BaseChatModel
    key_variable: str


def provider_model(settings: Settings) -> ProviderModel | None:
    """The chat model of ``BIZSQL_LLM_PROVIDER``, or None for Mistral without an API key.

    ``streaming`` is left unset on purpose: set to False it would stop token streaming even when the graph
    is streamed in messages mode.
    """
    if settings.llm_provider == "openai_compatible":
        assert settings.llm_base_url, "Settings requires BIZSQL_LLM_BASE_URL with openai_compatible"
        return ProviderModel(
            openai_compatible(settings, settings.llm_base_url), Settings.variable("llm_api_key")
        )
    if settings.llm_provider == "local":
        from bizsql.local_model import local_endpoint

        return ProviderModel(openai_compatible(settings, local_endpoint(settings)), "BIZSQL_LLM_API_KEY")
    model = mistral(settings)
    return ProviderModel(model, Settings.variable("mistral_api_key")) if model is not None else None


def mistral(settings: Settings) -> BaseChatModel | None:
    """A ChatMistralAI, or None when no API key is configured."""
    if settings.mistral_api_key is None or not settings.mistral_api_key.get_secret_value():
        return None
    from langchain_mistralai import ChatMistralAI

    kwargs: dict[str, Any] = {}
    if settings.mistral_base_url:
        kwargs["endpoint"] = settings.mistral_base_url
    return ChatMistralAI(
        model=settings.llm_model,
        api_key=settings.mistral_api_key,
        temperature=settings.llm_temperature,
        timeout=settings.llm_timeout_seconds,
        max_retries=1,  # our tenacity loop retries, with backoff and on HTTP status codes too
        **kwargs,
    )


def openai_compatible(settings: Settings, base_url: str) -> BaseChatModel:
    """A ChatOpenAI talking to any chat-completions server at ``base_url``."""
    from langchain_openai import ChatOpenAI
    from pydantic import SecretStr

    key = settings.llm_api_key if settings.llm_api_key is not None else SecretStr(NO_KEY_NEEDED)
    return ChatOpenAI(
        model=settings.llm_model,
        base_url=base_url,
        api_key=key,
        temperature=settings.llm_temperature,
        timeout=settings.llm_timeout_seconds,
        # in the body: ChatOpenAI sends max_tokens as max_completion_tokens, which llama-cpp-python ignores
        extra_body={"max_tokens": settings.llm_max_tokens},
        max_retries=0,  # our tenacity loop retries, with backoff and on HTTP status codes too
        stream_usage=True,  # streamed answers report their tokens too (llama-server, vLLM do)
    )


def llm_endpoint(settings: Settings) -> str:
    """Where the chat model is, for reports (a password in the URL masked)."""
    if settings.llm_provider == "openai_compatible":
        return mask_url(settings.llm_base_url or "")
    if settings.llm_provider == "local":
        return f"local: {settings.llm_model_path or settings.llm_model}"
    return mask_url(settings.mistral_base_url or MISTRAL_ENDPOINT)


def check_provider(settings: Settings) -> None:
    """Fail at start, not at the first turn, when the provider cannot be built: LlmMisconfigured says
    what is missing (the local runtime, the model file). Starts nothing and opens no connection."""
    if settings.llm_provider == "local":
        from bizsql.local_model import check_local

        check_local(settings)
