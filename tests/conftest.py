"""Session fixtures that start real servers once: the embedded ones, or those named by BIZSQL_*_URL."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from bizsql.config import Settings
from bizsql.embedded import embedded_servers
from tests.support.stub_mistral import StubMistral

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def servers_root() -> Iterator[Path]:
    """Where embedded servers keep their data, outside pytest's own temporary root. As root, pgserver runs
    PostgreSQL as its own system user and opens the folders above its data to it; any other pytest run
    on this machine resets ``/tmp/pytest-of-<user>`` to 0700, and PostgreSQL, locked out, panics."""
    root = Path(tempfile.mkdtemp(prefix="bizsql-srv-"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def server_dir(servers_root: Path, request: pytest.FixtureRequest) -> Path:
    """A fresh folder for one test's own embedded servers (see ``servers_root``). Its name is short:
    PostgreSQL's socket lives inside it, and a Unix socket's path holds at most 107 bytes."""
    return Path(tempfile.mkdtemp(prefix=f"{request.node.name[:16]}-", dir=servers_root))


@pytest.fixture(scope="session")
def data_dir(servers_root: Path) -> Path:
    (servers_root / "bizsql-data").mkdir()
    return servers_root / "bizsql-data"


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
        llm_provider="mistral",  # a BIZSQL_LLM_PROVIDER in the developer's environment does not leak in
        llm_model="mistral-small-latest",
        llm_structured=None,
    )
    with embedded_servers(base) as resolved:
        yield resolved


@pytest.fixture(scope="session")
def seeded(settings: Settings) -> Settings:
    """The three demo businesses, seeded once per test session (a no-op when already there)."""
    from bizsql.demo.seed import seed_all

    seed_all(settings, show_progress=False)
    return settings


@pytest.fixture(scope="session")
def stub_llm() -> Iterator[StubMistral]:
    """The stub Mistral server, started once; the API and browser tests point the service at it."""
    stub = StubMistral().start()
    yield stub
    stub.stop()


@pytest.fixture
def llm(stub_llm: StubMistral) -> Iterator[StubMistral]:
    """The stub, emptied for each test; a test fails if the service asked it something unscripted."""
    stub_llm.reset()
    yield stub_llm
    assert stub_llm.unexpected == [], stub_llm.unexpected
