"""Provider selection: which chat model is built, with which URL, model and key; bad combinations are
refused when the settings are read, not at the first turn."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import openai
import pytest
from langchain_core.messages import HumanMessage
from pydantic import SecretStr, ValidationError

from bizsql import local_model
from bizsql.config import Settings
from bizsql.errors import LlmMisconfigured, LlmUnavailable
from bizsql.llm import LlmClient, make_llm
from bizsql.llm_providers import NO_KEY_NEEDED, check_provider, llm_endpoint
from tests.support.fake_llm import ScriptedChatModel, text_answer

STUB_URL = "http://127.0.0.1:9/v1"


def compatible(**extra: object) -> Settings:
    values: dict[str, object] = {"llm_provider": "openai_compatible", "llm_base_url": STUB_URL}
    return Settings(**{"llm_model": "qwen2.5-coder-1.5b", **values, **extra})  # type: ignore[arg-type]


@pytest.fixture
def no_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_model.shutil, "which", lambda name: None)
    monkeypatch.setattr(local_model.importlib.util, "find_spec", lambda name: None)


def test_mistral_is_the_default_with_function_calling() -> None:
    settings = Settings(mistral_api_key=SecretStr("k"))
    llm = make_llm(settings)
    assert llm is not None
    assert type(llm.model).__name__ == "ChatMistralAI"
    assert (llm.structured_mode, llm.key_variable) == ("tools", "MISTRAL_API_KEY")
    assert llm_endpoint(settings) == "https://api.mistral.ai/v1"


def test_openai_compatible_builds_chat_openai_on_the_base_url_in_json_schema_mode() -> None:
    llm = make_llm(compatible(llm_api_key=SecretStr("secret")))
    assert llm is not None
    model = llm.model
    assert type(model).__name__ == "ChatOpenAI"
    assert model.openai_api_base == STUB_URL  # type: ignore[attr-defined]
    assert model.model_name == "qwen2.5-coder-1.5b"  # type: ignore[attr-defined]
    assert model.openai_api_key.get_secret_value() == "secret"  # type: ignore[attr-defined]
    assert model.max_retries == 0  # type: ignore[attr-defined]
    assert (llm.structured_mode, llm.key_variable) == ("json_schema", "BIZSQL_LLM_API_KEY")


def test_openai_compatible_without_a_key_sends_a_placeholder_and_the_mode_can_be_chosen() -> None:
    llm = make_llm(compatible(llm_structured="json_mode"))
    assert llm is not None
    assert llm.model.openai_api_key.get_secret_value() == NO_KEY_NEEDED  # type: ignore[attr-defined]
    assert llm.structured_mode == "json_mode"
    assert make_llm(
        Settings(mistral_api_key=SecretStr("k"), llm_structured="json_schema")
    ).structured_mode == (  # type: ignore[union-attr]
        "json_schema"
    )


def test_openai_compatible_without_a_base_url_is_refused_naming_the_variable() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(llm_provider="openai_compatible", llm_model="m")
    (problem,) = caught.value.errors()
    assert problem["loc"] == ("llm_base_url",)
    assert "required with BIZSQL_LLM_PROVIDER=openai_compatible" in problem["msg"]


def test_openai_compatible_without_a_model_name_is_refused() -> None:
    with pytest.raises(ValidationError, match="BIZSQL_LLM_MODEL is required"):
        Settings(llm_provider="openai_compatible", llm_base_url=STUB_URL)


@pytest.mark.parametrize(("field", "value"), [("llm_provider", "ollama"), ("llm_structured", "grammar")])
def test_unknown_providers_and_modes_are_refused(field: str, value: str) -> None:
    with pytest.raises(ValidationError):
        Settings(**{field: value})  # type: ignore[arg-type]


def test_local_defaults_to_the_qwen_model_and_without_a_runtime_fails_clearly(no_runtime: None) -> None:
    settings = Settings(llm_provider="local")
    assert (settings.llm_model, settings.structured_mode) == ("qwen2.5-coder-1.5b", "json_object_schema")
    with pytest.raises(LlmMisconfigured, match=r"the local runtime is not installed: .*llama-server"):
        check_provider(settings)
    with pytest.raises(LlmMisconfigured, match="the local runtime is not installed"):
        make_llm(settings)


def test_local_with_a_runtime_but_no_model_file_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(local_model.shutil, "which", lambda name: "/usr/bin/llama-server")
    settings = Settings(llm_provider="local", data_dir=tmp_path)
    with pytest.raises(LlmMisconfigured, match=re.escape("run `bizsql model install qwen2.5-coder-1.5b`")):
        check_provider(settings)
    with pytest.raises(LlmMisconfigured, match="no local model bizsql installs"):
        check_provider(Settings(llm_provider="local", llm_model="gpt-9", data_dir=tmp_path))
    with pytest.raises(LlmMisconfigured, match="BIZSQL_LLM_MODEL_PATH names no file"):
        check_provider(Settings(llm_provider="local", llm_model_path=tmp_path / "none.gguf"))


def test_config_lists_the_provider_settings_and_the_structured_mode_in_force() -> None:
    rows = {env: (value, description) for env, value, description in compatible().described()}
    for variable in (
        "BIZSQL_LLM_PROVIDER",
        "BIZSQL_LLM_BASE_URL",
        "BIZSQL_LLM_API_KEY",
        "BIZSQL_LLM_MODEL_PATH",
    ):
        assert rows[variable][1], f"{variable} has no description"
    assert rows["BIZSQL_LLM_STRUCTURED"][0] == "(unset: json_schema with openai_compatible)"
    assert rows["BIZSQL_LLM_PROVIDER"][0] == "openai_compatible"


def test_the_cli_refuses_a_bad_combination_at_start_in_plain_words() -> None:
    env = {
        **os.environ,
        "BIZSQL_LLM_PROVIDER": "openai_compatible",
        "BIZSQL_LLM_MODEL": "m",
        "COLUMNS": "240",
    }
    env.pop("BIZSQL_LLM_BASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "bizsql.cli", "config"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert (
        "BIZSQL_LLM_BASE_URL: Value error, required with BIZSQL_LLM_PROVIDER=openai_compatible" in done.stderr
    )
    assert "Traceback" not in done.stderr


def openai_status(code: int) -> openai.APIStatusError:
    request = httpx.Request("POST", f"{STUB_URL}/chat/completions")
    return openai.APIStatusError("boom", response=httpx.Response(code, request=request), body=None)


async def test_the_openai_clients_faults_are_retried_and_reported_like_httpx_ones() -> None:
    connection = openai.APIConnectionError(request=httpx.Request("POST", STUB_URL))
    model = ScriptedChatModel.of(connection, openai_status(503), text_answer("fine"))
    llm = LlmClient(model, backoff_initial=0.001, backoff_max=0.002, key_variable="BIZSQL_LLM_API_KEY")
    assert (await llm.text([HumanMessage("q")], business_id="b"))[0] == "fine"
    assert len(model.prompts) == 3

    rejected = ScriptedChatModel.of(openai_status(401))
    llm = LlmClient(rejected, backoff_initial=0.001, backoff_max=0.002, key_variable="BIZSQL_LLM_API_KEY")
    with pytest.raises(LlmUnavailable, match=re.escape("rejected the API key (check BIZSQL_LLM_API_KEY)")):
        await llm.text([HumanMessage("q")], business_id="b")
    assert len(rejected.prompts) == 1


def test_serve_with_the_local_provider_and_no_runtime_stops_before_starting_anything(tmp_path: Path) -> None:
    env = {**os.environ, "BIZSQL_LLM_PROVIDER": "local", "BIZSQL_DATA_DIR": str(tmp_path), "COLUMNS": "400"}
    env["PATH"] = os.path.dirname(sys.executable)  # no llama-server on it
    done = subprocess.run(
        [sys.executable, "-m", "bizsql.cli", "serve"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    if importlib.util.find_spec("llama_cpp") is None:
        assert "the local runtime is not installed" in done.stderr
        assert "llama-cpp-python[server]" in done.stderr, "rich markup must not eat the brackets"
    assert not (tmp_path / "embedded").exists(), "no embedded server was started"
