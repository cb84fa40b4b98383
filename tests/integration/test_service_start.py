"""`bizsql serve` as a user runs it: servers up, demo seeded, /healthz and /readyz answer, Ctrl-C stops it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from bizsql.config import Settings
from bizsql.embedded import free_port
from bizsql.server import create_app

pytestmark = pytest.mark.integration


def test_readyz_reports_each_store(seeded: Settings) -> None:
    with TestClient(create_app(seeded)) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        body = client.get("/readyz").json()
        assert body == {"status": "ready", "checks": {"postgres": "ok", "redis": "ok", "mongo": "ok"}}


def test_readyz_is_503_and_names_the_store_that_is_down(seeded: Settings) -> None:
    broken = seeded.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    with TestClient(create_app(broken)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"].startswith("down")
    assert response.json()["checks"]["postgres"] == "ok"


def test_serve_answers_healthz_and_stops_on_ctrl_c(seeded: Settings, server_dir: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "BIZSQL_POSTGRES_URL": seeded.postgres_url or "",
        "BIZSQL_REDIS_URL": seeded.redis_url or "",
        "BIZSQL_MONGO_URL": seeded.mongo_url or "",
        "BIZSQL_MONGO_DB": seeded.mongo_db,
        "BIZSQL_DATA_DIR": str(server_dir),
        "BIZSQL_ROLE_SECRET": seeded.secret_values()[1],
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bizsql.cli", "serve", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                time.sleep(0.2)
        else:
            pytest.fail("bizsql serve did not answer /healthz")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_readyz_stays_503_while_the_thread_owner_indexes_are_missing(seeded: Settings) -> None:
    dead_mongo = seeded.model_copy(
        update={"mongo_url": f"mongodb://127.0.0.1:{free_port()}/?directConnection=true"}
    )
    with TestClient(create_app(dead_mongo)) as client:
        body = client.get("/readyz").json()
        assert client.app.state.services.indexes_ready is False  # type: ignore[attr-defined]
    assert body["status"] == "not ready"
    assert body["checks"]["mongo"].startswith("down")
    assert body["checks"]["indexes"].startswith("pending")
