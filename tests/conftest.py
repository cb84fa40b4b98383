"""Session fixtures that start real servers once: the embedded ones, or those named by BIZSQL_*_URL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from bizsql.config import Settings
from bizsql.embedded import embedded_servers

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bizsql-data")


@pytest.fixture(scope="session")
def settings(data_dir: Path) -> Iterator[Settings]:
    """Settings whose three URLs answer: started here when the environment names none."""
    base = Settings(
        data_dir=data_dir,
        mongo_db="bizsql_test",
        jwt_secret=SecretStr("test-jwt-secret-that-is-long-enough-for-hs256"),
        role_secret=SecretStr("test-role-secret"),
        mistral_api_key=None,
        mistral_base_url=None,
    )
    with embedded_servers(base) as resolved:
        yield resolved


@pytest.fixture(scope="session")
def seeded(settings: Settings) -> Settings:
    """The three demo businesses, seeded once per test session (a no-op when already there)."""
    from bizsql.demo.seed import seed_all

    seed_all(settings, show_progress=False)
    return settings
