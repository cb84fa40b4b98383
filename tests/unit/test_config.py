"""Settings as an operator meets them: env names, masking, and a secret that survives restarts."""

from __future__ import annotations

from pathlib import Path

import pytest

from bizsql.config import Settings, mask_url


def test_env_prefix_and_mistral_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIZSQL_LLM_MODEL", "mistral-large-latest")
    monkeypatch.setenv("MISTRAL_API_KEY", "sk-secret-value")
    monkeypatch.setenv("MISTRAL_BASE_URL", "http://127.0.0.1:9999/v1")
    settings = Settings()
    assert settings.llm_model == "mistral-large-latest"
    assert settings.mistral_api_key is not None
    assert settings.mistral_api_key.get_secret_value() == "sk-secret-value"
    assert settings.mistral_base_url == "http://127.0.0.1:9999/v1"


def test_described_settings_mask_every_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MISTRAL_API_KEY", "sk-secret-value")
    monkeypatch.setenv("BIZSQL_JWT_SECRET", "jwt-secret-value")
    monkeypatch.setenv("BIZSQL_POSTGRES_URL", "postgresql://boss:pg-pass-value@db:5432/postgres")
    rows = Settings().described()
    printed = repr(rows)
    for secret in ("sk-secret-value", "jwt-secret-value", "pg-pass-value", "demo-pass-123"):
        assert secret not in printed
    names = {env for env, _, _ in rows}
    assert {
        "BIZSQL_POSTGRES_URL",
        "BIZSQL_REDIS_URL",
        "BIZSQL_MONGO_URL",
        "BIZSQL_JWT_SECRET",
        "BIZSQL_DATA_DIR",
        "BIZSQL_LLM_MODEL",
        "MISTRAL_API_KEY",
        "MISTRAL_BASE_URL",
    } <= names
    assert all(description for _, _, description in rows)


def test_mask_url_hides_only_the_password() -> None:
    assert mask_url("postgresql://u:p@h:5/d") == "postgresql://u:****@h:5/d"
    assert mask_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


def test_unset_secrets_come_from_one_file_kept_across_restarts(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path).secret_values()
    second = Settings(data_dir=tmp_path).secret_values()
    assert first == second
    assert len(first[0]) >= 32
    assert (tmp_path / "instance-secret").stat().st_mode & 0o077 == 0
