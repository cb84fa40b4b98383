"""Settings as an operator meets them: env names, masking, and a secret that survives restarts."""

from __future__ import annotations

from pathlib import Path

import pytest
from pymongo.uri_parser import parse_uri

from bizsql.config import Settings, mask_url, mongo_url_database


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


NAMED = "named by BIZSQL_MONGO_URL"


@pytest.mark.parametrize(
    ("url", "db_env", "database", "why"),
    [
        (None, None, "bizsql", "default: BIZSQL_MONGO_URL names none"),
        ("mongodb://db:27017/?directConnection=true", None, "bizsql", "default"),
        ("mongodb://u:secret@db:27017/shop?authSource=admin", None, "shop", NAMED),
        ("mongodb+srv://cluster.example.com/shop", None, "shop", NAMED),  # and no DNS lookup
        ("mongodb://db/shop", "other", "other", "set by BIZSQL_MONGO_DB, over the URL's shop"),
        ("mongodb://db/shop", "shop", "shop", "set by BIZSQL_MONGO_DB)"),
        (None, "other", "other", "set by BIZSQL_MONGO_DB)"),
        ("mongodb://db/shop", "", "shop", NAMED),  # an empty variable is an unset one
    ],
)
def test_the_mongo_database_is_the_urls_unless_bizsql_mongo_db_is_set(
    monkeypatch: pytest.MonkeyPatch, url: str | None, db_env: str | None, database: str, why: str
) -> None:
    for name, value in (("BIZSQL_MONGO_URL", url), ("BIZSQL_MONGO_DB", db_env)):
        monkeypatch.delenv(name, raising=False)
        if value is not None:
            monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.mongo_db == database
    shown = {env: value for env, value, _ in settings.described()}
    assert shown["BIZSQL_MONGO_DB"].startswith(f"{database} ({why}")
    assert "secret" not in repr(shown)


@pytest.mark.parametrize(
    "url",
    [
        "mongodb://db:27017",
        "mongodb://db:27017/",
        "mongodb://db:27017/?directConnection=true",
        "mongodb://db:27017/shop",
        "mongodb://db:27017/shop?replicaSet=rs0",
        "mongodb://a:1,b:2/shop.orders",
        "mongodb://u%40x:p%2Fw@db/my%2Dshop",
        "mongodb://db?tls=false",
        "mongodb://%2Ftmp%2Fmongodb-27017.sock/shop",
    ],
)
def test_the_url_database_is_read_as_pymongo_reads_it(url: str) -> None:
    assert mongo_url_database(url) == parse_uri(url)["database"]


def test_a_copy_with_a_new_url_follows_its_database_unless_one_was_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Copies skip validators; the embedded servers and the tests hand in URLs by copying settings."""
    monkeypatch.delenv("BIZSQL_MONGO_DB", raising=False)
    monkeypatch.delenv("BIZSQL_MONGO_URL", raising=False)
    plain = Settings()
    assert plain.model_copy(update={"mongo_url": "mongodb://db/shop"}).mongo_db == "shop"
    assert plain.model_copy(update={"mongo_url": "mongodb://db/?directConnection=true"}).mongo_db == "bizsql"
    assert plain.mongo_db == "bizsql"
    pinned = Settings(mongo_db="bizsql_test")
    assert pinned.model_copy(update={"mongo_url": "mongodb://db/shop"}).mongo_db == "bizsql_test"
    assert plain.model_copy(update={"mongo_db": "mine", "mongo_url": "mongodb://db/shop"}).mongo_db == "mine"
