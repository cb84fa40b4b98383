"""Which embedded servers run for a data directory, and which bizsql processes use them.

Every bizsql process on one data directory (``serve``, ``ask``, ``sql run``, ``mcp``...) shares one set
of embedded servers. A state file next to their pid files records each server's URL and the processes
using them; a lock file serialises the decisions. A process attaches to servers that answer, starts
only those that do not run, and the last process to leave stops them, so no command takes down the
servers of another that is still running. A process that was killed is dropped from the list the next
time anyone reads it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

STATE_FILE = "servers.json"
LOCK_FILE = "servers.lock"


@dataclass(frozen=True)
class ProcessRef:
    """A process by pid and start time, so a reused pid is not mistaken for it."""

    pid: int
    started: float

    @classmethod
    def current(cls) -> ProcessRef:
        return cls(os.getpid(), psutil.Process().create_time())

    def alive(self) -> bool:
        try:
            proc = psutil.Process(self.pid)
            return abs(proc.create_time() - self.started) < 0.01 and proc.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False


@dataclass
class StackState:
    """The URL of each running server (by settings field) and the processes that use them."""

    urls: dict[str, str] = field(default_factory=dict)
    users: list[ProcessRef] = field(default_factory=list)

    def live_users(self, *, excluding: ProcessRef | None = None) -> list[ProcessRef]:
        return [user for user in self.users if user != excluding and user.alive()]

    def to_json(self) -> dict[str, Any]:
        return {"urls": self.urls, "users": [{"pid": u.pid, "started": u.started} for u in self.users]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StackState:
        users = [ProcessRef(int(u["pid"]), float(u["started"])) for u in data.get("users", [])]
        return cls(urls={str(k): str(v) for k, v in data.get("urls", {}).items()}, users=users)


@contextlib.contextmanager
def locked(base: Path) -> Iterator[None]:
    """Hold the data directory's lock: one process at a time decides what starts, attaches or stops."""
    base.mkdir(parents=True, exist_ok=True)
    with (base / LOCK_FILE).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def read_state(base: Path) -> StackState:
    """The recorded state, or an empty one (no file, or one a crash left half written)."""
    try:
        return StackState.from_json(json.loads((base / STATE_FILE).read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return StackState()


def write_state(base: Path, state: StackState) -> None:
    """Replace the state file in one rename, so a reader never sees half of it."""
    path = base / STATE_FILE
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(state.to_json(), indent=2))
    temporary.chmod(0o600)
    temporary.replace(path)


def remove_state(base: Path) -> None:
    (base / STATE_FILE).unlink(missing_ok=True)
