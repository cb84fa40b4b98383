"""bizsql processes on one data directory share its embedded servers: none takes down another's.

A second process attaches to the servers that answer and starts only what is missing; the last process
to leave stops them; `bizsql mcp` over stdio stops what it started however it ends.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from pydantic import SecretStr

from bizsql.config import Settings
from bizsql.embedded import EmbeddedStack, free_port
from bizsql.embedded_state import read_state

pytestmark = pytest.mark.integration

URL_VARIABLES = ("BIZSQL_POSTGRES_URL", "BIZSQL_REDIS_URL", "BIZSQL_MONGO_URL")
HOLD = """
import sys
from bizsql.config import Settings
from bizsql.embedded import embedded_servers
with embedded_servers(Settings()) as resolved:
    print("URLS", resolved.model_dump_json(include={"postgres_url", "redis_url", "mongo_url"}), flush=True)
    sys.stdin.read()
"""


def _bare_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """A bizsql environment with no server URL: every server is embedded, under ``data_dir``."""
    env = {k: v for k, v in os.environ.items() if k not in URL_VARIABLES}
    return {**env, "BIZSQL_DATA_DIR": str(data_dir), "BIZSQL_LOG_LEVEL": "WARNING", **extra}


def _server_processes(embedded: Path) -> list[psutil.Process]:
    """The running embedded servers of a data directory, from their pid files (Valkey renames its process,
    so its command line does not name the directory)."""
    files = [embedded / "valkey" / "valkey.pid", embedded / "secantus" / "secantus.pid"]
    files.append(embedded / "postgres" / "postmaster.pid")
    found = []
    for pid_file in files:
        try:
            found.append(psutil.Process(int(pid_file.read_text().split()[0])))
        except (OSError, ValueError, IndexError, psutil.Error):
            continue
    return found


def _answers(settings: Settings) -> bool:
    import psycopg
    import redis
    from pymongo import MongoClient

    try:
        assert settings.postgres_url and settings.redis_url and settings.mongo_url
        with psycopg.connect(settings.postgres_url, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
        with redis.Redis.from_url(settings.redis_url, socket_timeout=2) as client:
            client.ping()
        with MongoClient(settings.mongo_url, serverSelectionTimeoutMS=2000) as mongo:
            mongo.admin.command("ping")
        return True
    except Exception:
        return False


def _hold(env: dict[str, str]) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """A second bizsql process that keeps the servers until its stdin closes."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    for line in proc.stdout:  # structlog's default output comes first
        if line.startswith("URLS "):
            return proc, json.loads(line.removeprefix("URLS "))
    raise AssertionError(f"the second process exited with {proc.wait(30)}")


def test_a_second_process_attaches_and_the_last_one_out_stops_the_servers(server_dir: Path) -> None:
    mine = Settings(
        data_dir=server_dir, postgres_url=None, redis_url=None, mongo_url=None,
        jwt_secret=SecretStr("x" * 40), role_secret=SecretStr("y"),
    )  # fmt: skip
    stack = EmbeddedStack(mine)
    resolved = stack.start()
    embedded = server_dir / "embedded"
    servers = _server_processes(embedded)
    assert len(servers) == 3
    try:
        second, urls = _hold(_bare_env(server_dir))
        assert urls == resolved.model_dump(include={"postgres_url", "redis_url", "mongo_url"})
        assert len(read_state(embedded).users) == 2
        second.communicate("", timeout=60)  # the second leaves first: nothing stops
        assert second.returncode == 0
        assert _answers(resolved), "the second process took down the servers it attached to"

        third, _ = _hold(_bare_env(server_dir))
        stack.stop()  # the first leaves while the third still uses them: nothing stops
        assert _answers(resolved), "the first process stopped servers another process was using"
        third.communicate("", timeout=60)  # the last one out stops them
        assert third.returncode == 0
    finally:
        stack.stop()
    assert not _answers(resolved)
    assert psutil.wait_procs(servers, timeout=20)[1] == []
    assert not (embedded / "servers.json").exists()


def _env_of_this_session(settings: Settings) -> dict[str, str]:
    """What this test session was configured with: its URLs set in the environment, the rest embedded
    under the session's data directory (so a new process attaches to the fixtures' servers)."""
    env = {
        **_bare_env(settings.data_dir),
        "BIZSQL_MONGO_DB": settings.mongo_db,
        "BIZSQL_JWT_SECRET": settings.secret_values()[0],
        "BIZSQL_ROLE_SECRET": settings.secret_values()[1],
    }
    env.update({name: os.environ[name] for name in URL_VARIABLES if os.environ.get(name)})
    return env


@pytest.fixture
def serving(seeded: Settings) -> Iterator[tuple[str, dict[str, str]]]:
    env = _env_of_this_session(seeded)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bizsql.cli", "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert proc.poll() is None, "bizsql serve exited"
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        else:
            pytest.fail("bizsql serve was not ready within 120 s")
        yield base, env
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_cli_commands_attach_to_a_running_serve_and_readyz_stays_200(
    serving: tuple[str, dict[str, str]], seeded: Settings
) -> None:
    base, env = serving
    seen: list[Any] = []
    stop = threading.Event()

    def poll() -> None:
        with httpx.Client(timeout=5) as client:
            while not stop.is_set():
                try:
                    seen.append(client.get(f"{base}/readyz").status_code)
                except httpx.HTTPError as exc:
                    seen.append(repr(exc))
                time.sleep(0.2)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        cli = [sys.executable, "-m", "bizsql.cli"]
        ask = subprocess.run(
            [*cli, "ask", "--business", "acme_retail", "--as", "alice", "--json",
             "Top 5 customers by revenue in 2025?"],
            env=env, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        run = subprocess.run(
            [*cli, "sql", "run", "--business", "acme_retail", "SELECT count(*) AS n FROM orders"],
            env=env, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        time.sleep(1.0)
    finally:
        stop.set()
        poller.join(10)
    assert ask.returncode == 0, ask.stderr
    turn = json.loads(ask.stdout)
    assert (turn["source"], turn["result"]["row_count"]) == ("verified", 5)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["rows"][0][0] >= 50_000
    assert seen and set(seen) == {200}, seen
    login = httpx.post(
        f"{base}/auth/login", json={"username": "alice", "password": "demo-pass-123"}, timeout=10
    )
    assert login.status_code == 200


SIGNALS = {"sigterm": signal.SIGTERM, "sigint": signal.SIGINT, "sighup": signal.SIGHUP}
MCP_INIT = {
    "jsonrpc": "2.0", "id": 1, "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {},
               "clientInfo": {"name": "test", "version": "1"}},
}  # fmt: skip


@pytest.mark.parametrize("ending", ["eof", "sigterm", "sigint", "sighup"])
def test_stdio_mcp_stops_what_it_started_however_it_ends(
    ending: str, seeded: Settings, server_dir: Path
) -> None:
    """Its own data directory: the business's PostgreSQL and MongoDB come from this session, and the
    process starts Valkey itself, which must not outlive it."""
    env = {
        **_bare_env(server_dir),
        "BIZSQL_POSTGRES_URL": seeded.postgres_url or "",
        "BIZSQL_MONGO_URL": seeded.mongo_url or "",
        "BIZSQL_MONGO_DB": seeded.mongo_db,
        "BIZSQL_ROLE_SECRET": seeded.secret_values()[1],
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bizsql.cli", "mcp", "--business", "acme_retail"],
        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(json.dumps(MCP_INIT) + "\n")
        proc.stdin.flush()
        reply = json.loads(proc.stdout.readline())
        assert reply["result"]["serverInfo"]["name"]
        started = _server_processes(server_dir / "embedded")
        assert started, "the MCP process started no server of its own: the test proves nothing"
        if ending == "eof":
            proc.stdin.close()
        else:
            proc.send_signal(
                {"sigterm": signal.SIGTERM, "sigint": signal.SIGINT, "sighup": signal.SIGHUP}[ending]
            )
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
    _, alive = psutil.wait_procs(started, timeout=20)
    assert alive == [], [p.cmdline() for p in alive]
    assert _server_processes(server_dir / "embedded") == []
