"""`bizsql serve` as a real process on a free port, with its JSON log lines kept in a file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bizsql.config import Settings
from bizsql.embedded import free_port

START_TIMEOUT_S = 180


@dataclass(frozen=True)
class LiveServer:
    url: str
    log_file: Path

    def log_lines(self) -> list[dict[str, Any]]:
        """The log lines (JSON); the console's start-up messages (seed progress, "ready") are not logs."""
        lines = self.log_file.read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]


def server_env(settings: Settings, data_dir: Path, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BIZSQL_", "MISTRAL_"))}
    env |= {
        "BIZSQL_POSTGRES_URL": settings.postgres_url or "",
        "BIZSQL_REDIS_URL": settings.redis_url or "",
        "BIZSQL_MONGO_URL": settings.mongo_url or "",
        "BIZSQL_MONGO_DB": settings.mongo_db,
        "BIZSQL_DATA_DIR": str(data_dir),
        "BIZSQL_JWT_SECRET": settings.secret_values()[0],
        "BIZSQL_ROLE_SECRET": settings.secret_values()[1],
        "HF_HUB_OFFLINE": "1",
        **overrides,
    }
    return env


@contextmanager
def live_server(env: dict[str, str], log_file: Path) -> Iterator[LiveServer]:
    port = free_port()
    with log_file.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bizsql.cli", "serve", "--port", str(port)],
            env=env, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"bizsql serve did not become ready:\n{log_file.read_text()[-3000:]}")
            time.sleep(0.25)
        yield LiveServer(url, log_file)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
