"""The local runtime's life as a child server, without the runtime: a stand-in process that answers
``GET /v1/models`` as llama_cpp.server does (Python's http.server, serving a folder named like the model)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest

from bizsql import local_model
from bizsql.config import Settings
from bizsql.local_model import ChildRuntime, ModelServer, stop_orphans


@dataclass(kw_only=True)
class StandIn(ModelServer):
    def command(self, port: int) -> list[str]:
        return [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory",
                str(self.gguf.resolve())]  # fmt: skip


@pytest.fixture
def gguf(tmp_path: Path) -> Path:
    model = tmp_path / "model.gguf"  # a folder, so the stand-in serves model.gguf/v1/models
    (model / "v1").mkdir(parents=True)
    (model / "v1" / "models").write_text('{"data": []}')
    return model


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[StandIn]]:
    made: list[StandIn] = []

    def server(
        self: ChildRuntime, gguf: Path, folder: Path, alias: str, context: int, threads: int
    ) -> StandIn:
        made.append(StandIn("stand-in", folder, gguf=gguf, alias=alias, context=context, threads=threads))
        return made[-1]

    monkeypatch.setattr(ChildRuntime, "_server", server)
    monkeypatch.setattr(local_model, "_started", {})
    yield made
    for each in made:
        each.stop()


def test_serve_starts_the_runtime_once_per_model_and_it_answers_until_stopped(
    stand_in: list[StandIn], gguf: Path, tmp_path: Path
) -> None:
    settings = Settings(llm_provider="local", llm_model="m", data_dir=tmp_path / "data")
    runtime = ChildRuntime("stand-in")

    url = runtime.serve(gguf, settings)
    assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
    assert httpx.get(f"{url}/models").status_code == 200
    assert runtime.serve(gguf, settings) == url and len(stand_in) == 1

    (server,) = stand_in
    assert server.pid_file.is_file()
    server.stop()
    assert not server.pid_file.exists()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/models")


def test_a_runtime_left_by_a_killed_bizsql_is_stopped_and_a_live_ones_is_not(
    gguf: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "llm"
    folder.mkdir()
    server = StandIn("stand-in", folder, gguf=gguf, alias="m", context=512, threads=1)
    orphan = subprocess.Popen(server.command(0))
    dead_owner = psutil.Popen([sys.executable, "-c", "pass"])
    dead_owner.wait()
    (folder / f"stand-in-{dead_owner.pid}.pid").write_text(str(orphan.pid))
    sibling = subprocess.Popen(server.command(0))
    (folder / f"stand-in-{psutil.Process().ppid()}.pid").write_text(str(sibling.pid))
    try:
        stop_orphans(folder, server)
        assert orphan.wait(10) is not None
        assert sibling.poll() is None, "a live bizsql's runtime is left alone"
        assert sorted(p.name for p in folder.iterdir()) == [f"stand-in-{psutil.Process().ppid()}.pid"]
    finally:
        for proc in (orphan, sibling):
            proc.kill()
            proc.wait()
