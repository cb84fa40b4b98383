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
from bizsql.cli.workers import exported, worker_environment
from bizsql.config import Settings
from bizsql.embedded import stop_recorded
from bizsql.local_model import ChildRuntime, ModelServer, find_runtime, local_endpoint, stop_orphans

FAKE_LLAMA_SERVER = """\
#!{python}
# Takes llama-server's flags (an unknown one is an error, as it is to llama-server) and answers its API.
import argparse, http.server, json
parser = argparse.ArgumentParser()
for flag in ("-m", "--alias", "--host", "--port", "-c", "-t"):
    parser.add_argument(flag, required=True)
args = parser.parse_args()

class Models(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({{"data": [{{"id": args.alias, "argv": vars(args)}}]}}).encode()
        self.send_response(200 if self.path == "/v1/models" else 404)
        self.end_headers()
        self.wfile.write(body)

http.server.HTTPServer((args.host, int(args.port)), Models).serve_forever()
"""


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

    def server(self: ChildRuntime, gguf: Path, folder: Path, settings: Settings, threads: int) -> StandIn:
        made.append(
            StandIn(
                "stand-in",
                folder,
                gguf=gguf,
                alias=settings.llm_model,
                context=settings.llm_local_context,
                threads=threads,
            )
        )
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


def test_workers_are_handed_the_parents_runtime_and_start_none_of_their_own(
    stand_in: list[StandIn], gguf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local_model, "check_local", lambda settings: (ChildRuntime("stand-in"), gguf))
    resolved = Settings(
        llm_provider="local",
        llm_model="m",
        data_dir=tmp_path / "data",
        postgres_url="postgresql://postgres@127.0.0.1:1/postgres",
        redis_url="redis://127.0.0.1:2/0",
        mongo_url="mongodb://127.0.0.1:3/?directConnection=true",
    )
    variables = worker_environment(resolved)
    assert len(stand_in) == 1, "the parent started the runtime"
    with exported(variables):
        worker = Settings()
    url = local_endpoint(worker)
    assert url == variables["BIZSQL_LLM_BASE_URL"] and httpx.get(f"{url}/models").status_code == 200
    assert len(stand_in) == 1, "the worker started none"


def test_llama_server_on_path_is_chosen_and_started_with_its_own_flags(
    gguf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "llama-server"
    exe.write_text(FAKE_LLAMA_SERVER.format(python=sys.executable))
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{Path(sys.executable).parent}:/usr/bin:/bin")
    monkeypatch.setattr(local_model, "_started", {})
    runtime = find_runtime()
    assert runtime is not None and runtime.name == f"llama-server ({exe})"

    settings = Settings(
        llm_provider="local", llm_model="qwen", llm_local_context=2048, llm_local_threads=3,
        data_dir=tmp_path / "data",
    )  # fmt: skip
    url = runtime.serve(gguf, settings)
    try:
        (served,) = httpx.get(f"{url}/models").json()["data"]
        assert served["id"] == "qwen"
        assert served["argv"] | {"port": None} == {
            "m": str(gguf.resolve()), "alias": "qwen", "host": "127.0.0.1", "port": None,
            "c": "2048", "t": "3",
        }  # fmt: skip
        assert len(list((tmp_path / "data" / "llm").glob("llama-server-*.pid"))) == 1
    finally:
        for pid_file in (tmp_path / "data" / "llm").glob("*.pid"):
            stop_recorded(pid_file, lambda process: True)
