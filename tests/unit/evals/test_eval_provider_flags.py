"""`bizsql eval --provider local --model NAME`: the flags win over the environment, and what the local
provider lacks is said before any server starts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bizsql import local_model
from bizsql.cli import app


@pytest.fixture
def no_llm_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for variable in ("BIZSQL_LLM_PROVIDER", "BIZSQL_LLM_MODEL", "BIZSQL_LLM_MODEL_PATH", "MISTRAL_API_KEY",
                     "MISTRAL_BASE_URL"):  # fmt: skip
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("BIZSQL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "400")
    return tmp_path


def said(stderr: str) -> str:
    return " ".join(stderr.split())


def test_provider_local_without_the_runtime_says_what_to_install(
    no_llm_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local_model, "find_runtime", lambda: None)
    result = CliRunner().invoke(app, ["eval", "--provider", "local", "--limit", "1"])
    assert result.exit_code == 2
    assert "the local runtime is not installed" in said(result.stderr)


def test_provider_local_with_a_model_not_installed_names_the_install_command(
    no_llm_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local_model, "find_runtime", lambda: local_model.ChildRuntime("stand-in"))
    result = CliRunner().invoke(app, ["eval", "--provider", "local", "--model", "smollm2-135m"])
    assert result.exit_code == 2
    assert re.search(r"run `bizsql model install smollm2-135m`", said(result.stderr))


def test_provider_openai_compatible_without_a_url_is_refused_clearly(no_llm_env: Path) -> None:
    result = CliRunner().invoke(app, ["eval", "--provider", "openai_compatible", "--model", "m"])
    assert result.exit_code == 2
    assert "BIZSQL_LLM_BASE_URL" in said(result.stderr) or "llm_base_url" in said(result.stderr)
