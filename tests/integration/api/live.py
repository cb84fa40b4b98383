"""`bizsql serve` as a real process on a free port, with its JSON log lines kept in a file."""

from __future__ import annotations

import contextlib
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
import psutil

from bizsql.config import Settings
from bizsql.embedded import free_port

START_TIMEOUT_S = 180


@dataclass(frozen=True)
class LiveServer:
    url: str
    log_file: Path
    pid: int
    """The `bizsql serve` process (with ``--workers N``, the parent of the workers)."""

    def log_lines(self) -> list[dict[str, Any]]:
        """The log lines (JSON); the console's start-up messages (seed progress, "ready") are not logs, and
        a line a worker is still writing is left for the next read."""
        text = self.log_file.read_text()
        lines = text[: text.rfind("\n") + 1].splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def started_processes(self) -> set[int]:
        """The pids whose app has started: `serve` itself, or each of its workers."""
        return {
            line["process"] for line in self.log_lines() if line["event"] == "Application startup complete."
        }


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
def live_server(env: dict[str, str], log_file: Path, *args: str) -> Iterator[LiveServer]:
    """Serve until the block ends, then stop it as Ctrl-C does; ``args`` go to `bizsql serve`. Ready means
    /readyz answers and, with ``--workers N``, N workers have started (any one of them answers /readyz)."""
    port = free_port()
    workers = int(args[args.index("--workers") + 1]) if "--workers" in args else 1
    with log_file.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bizsql.cli", "serve", "--port", str(port), *args],
            env=env, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = LiveServer(f"http://127.0.0.1:{port}", log_file, proc.pid)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not (_answers_ready(server.url) and len(server.started_processes()) >= workers):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"bizsql serve did not become ready:\n{log_file.read_text()[-3000:]}")
            time.sleep(0.25)
        yield server
    finally:
        _stop(proc)


def _answers_ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Ctrl-C; a server that does not stop in time is killed with its workers, so no test leaves any."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(proc.pid).children(recursive=True):
                child.kill()
        proc.kill()
        proc.wait(5)
