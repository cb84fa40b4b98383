"""`make serve PORT=... HOST=...` reaches `bizsql serve` as its options (checked with `make -n`, which runs
nothing)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def serve_line(*args: str, **env: str) -> str:
    """The `bizsql serve` command `make serve` would run."""
    clean = {k: v for k, v in os.environ.items() if k not in ("PORT", "HOST", "MAKEFLAGS", "MFLAGS")}
    done = subprocess.run(
        ["make", "-n", "serve", *args], cwd=ROOT, env=clean | env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if "bizsql serve" in line]
    assert len(lines) == 1, done.stdout
    return lines[0].strip()


def test_make_serve_passes_port_and_host_to_bizsql_serve() -> None:
    assert serve_line("PORT=9000", "HOST=0.0.0.0") == ".venv/bin/bizsql serve --host 0.0.0.0 --port 9000"
    assert serve_line("PORT=9000") == ".venv/bin/bizsql serve --port 9000"


def test_make_serve_without_them_leaves_the_settings_to_decide() -> None:
    assert serve_line() == ".venv/bin/bizsql serve"


def test_host_and_port_from_the_shell_environment_are_not_taken() -> None:
    """tcsh exports HOST as the machine's name; BIZSQL_HOST and BIZSQL_PORT are the environment's way."""
    assert serve_line(HOST="myhost.example", PORT="1234") == ".venv/bin/bizsql serve"
