"""The local provider: a GGUF file on this machine, served over the chat-completions API by a runtime.

The runtime is llama.cpp's ``llama-server`` on PATH, or ``llama-cpp-python`` (whose ``llama_cpp.server``
speaks the same API; ``pip install 'bizsql[local]'``). Neither is a default dependency (llama-cpp-python
compiles from source), so a missing one is reported at start with what to install. bizsql starts the
runtime as a child server on a free loopback port, as it starts the embedded databases, once per process
and model, and stops it when the process exits; one left behind by a bizsql that was killed is stopped by
the next one to start on the same data directory.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx
import psutil
import structlog

from bizsql.config import Settings
from bizsql.embedded import ChildProcessServer, EmbeddedUnavailable, stop_recorded
from bizsql.errors import LlmMisconfigured

log = structlog.get_logger(__name__)

RUNTIME_MISSING = (
    "the local runtime is not installed: BIZSQL_LLM_PROVIDER=local needs llama.cpp's llama-server on PATH, "
    "or `pip install 'llama-cpp-python[server]'` (it compiles with cmake and a C++ compiler). Or run any "
    "OpenAI-compatible server yourself and set BIZSQL_LLM_PROVIDER=openai_compatible and "
    "BIZSQL_LLM_BASE_URL."
)


class LocalRuntime(Protocol):
    """Serves a GGUF file on a loopback port and gives the chat-completions base URL."""

    @property
    def name(self) -> str: ...

    def serve(self, gguf: Path, settings: Settings) -> str: ...


@dataclass(kw_only=True)
class ModelServer(ChildProcessServer):
    """A runtime serving one GGUF file. Its pid file is named for the bizsql process that started it, so
    two bizsql processes on one data directory never stop each other's."""

    gguf: Path
    alias: str
    context: int
    threads: int
    cache_mb: int = 0

    @property
    def pid_file(self) -> Path:
        return self.data_dir / f"{self.name}-{os.getpid()}.pid"

    def owns(self, proc: psutil.Process) -> bool:
        return str(self.gguf.resolve()) in proc.cmdline()

    def url(self, port: int) -> str:
        return f"http://127.0.0.1:{port}/v1"

    def ping(self, url: str) -> bool:
        return httpx.get(f"{url}/models", timeout=2).status_code == 200


LLAMA_CPP_BATCH = 64
"""Tokens per decode: the logits a cached state copies (64 × vocabulary × 4 bytes, 39 MB for Qwen), and
nearly as fast as 512 on this CPU (a 1,398-token prompt read in 10.5 s against 9.6 s; docs/quality.md)."""


class LlamaCppPython(ModelServer):
    def command(self, port: int) -> list[str]:
        return [
            sys.executable, "-m", "llama_cpp.server", "--model", str(self.gguf.resolve()),
            "--model_alias", self.alias, "--host", "127.0.0.1", "--port", str(port),
            "--n_ctx", str(self.context), "--n_threads", str(self.threads),
            "--n_threads_batch", str(self.threads), "--verbose", "False",
            # bizsql asks for no logprobs; the server's default (all) keeps a vocabulary of logits per
            # token, 600 KB each with Qwen's 152k, and every cached state a copy of up to n_batch of them
            "--logits_all", "False", "--n_batch", str(LLAMA_CPP_BATCH),
            *(["--cache", "True", "--cache_size", str(self.cache_mb << 20)] if self.cache_mb else []),
        ]  # fmt: skip


@dataclass(kw_only=True)
class LlamaServer(ModelServer):
    exe: str

    def command(self, port: int) -> list[str]:
        return [
            self.exe, "-m", str(self.gguf.resolve()), "--alias", self.alias, "--host", "127.0.0.1",
            "--port", str(port), "-c", str(self.context), "-t", str(self.threads),
        ]  # fmt: skip


def stop_orphans(folder: Path, server: ModelServer) -> None:
    """Stop the runtimes whose bizsql process is gone (killed before its exit hook could stop them)."""
    for pid_file in folder.glob(f"{server.name}-*.pid"):
        owner = pid_file.stem.rsplit("-", 1)[-1]
        if owner.isdigit() and not psutil.pid_exists(int(owner)):
            stop_recorded(pid_file, server.owns)


_started: dict[tuple[str, Path, str, int, int], str] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class ChildRuntime:
    """A runtime that bizsql starts as a child server, once per process and model."""

    name: str
    exe: str | None = None  # llama-server's path; None: llama-cpp-python in this interpreter

    def serve(self, gguf: Path, settings: Settings) -> str:
        threads = settings.llm_local_threads or os.cpu_count() or 1
        key = (self.name, gguf.resolve(), settings.llm_model, settings.llm_local_context, threads)
        with _lock:
            if key in _started:
                return _started[key]
            folder = settings.data_dir / "llm"
            server = self._server(gguf, folder, settings, threads)
            folder.mkdir(parents=True, exist_ok=True)
            stop_orphans(folder, server)
            try:
                url = server.start()
            except EmbeddedUnavailable as exc:
                server.stop()
                raise LlmMisconfigured(f"the local runtime did not start: {exc}") from exc
            atexit.register(server.stop)
            log.info("local model served", runtime=self.name, model=gguf.name, url=url)
            _started[key] = url
            return url

    def _server(self, gguf: Path, folder: Path, settings: Settings, threads: int) -> ModelServer:
        alias, context = settings.llm_model, settings.llm_local_context
        if self.exe is not None:
            return LlamaServer(
                "llama-server", folder, gguf=gguf, alias=alias, context=context, threads=threads, exe=self.exe
            )
        return LlamaCppPython(
            "llama-cpp-python",
            folder,
            gguf=gguf,
            alias=alias,
            context=context,
            threads=threads,
            cache_mb=settings.llm_local_cache_mb,
        )


def find_runtime() -> LocalRuntime | None:
    """The first runtime installed: llama-server on PATH, else llama-cpp-python."""
    if exe := shutil.which("llama-server"):
        return ChildRuntime(f"llama-server ({exe})", exe)
    if importlib.util.find_spec("llama_cpp") is not None:
        return ChildRuntime("llama-cpp-python")
    return None


def model_file(settings: Settings) -> Path:
    """BIZSQL_LLM_MODEL_PATH, else the file `bizsql model install` made for BIZSQL_LLM_MODEL."""
    from bizsql.model_store import CATALOG, installed_path

    if settings.llm_model_path is not None:
        path = settings.llm_model_path
        if not path.is_file():
            raise LlmMisconfigured(f"BIZSQL_LLM_MODEL_PATH names no file: {path}")
        return path
    spec = CATALOG.get(settings.llm_model)
    if spec is None:
        known = ", ".join(CATALOG)
        raise LlmMisconfigured(
            f"BIZSQL_LLM_MODEL={settings.llm_model} is no local model bizsql installs ({known}); "
            "set BIZSQL_LLM_MODEL_PATH to a GGUF file to run another"
        )
    path = installed_path(settings.data_dir, spec)
    if not path.is_file():
        raise LlmMisconfigured(
            f"the local model {spec.name} is not installed: run `bizsql model install {spec.name}`"
        )
    return path


def check_local(settings: Settings) -> tuple[LocalRuntime, Path]:
    """The runtime and the model file, or LlmMisconfigured saying what is missing (nothing is started)."""
    runtime = find_runtime()
    if runtime is None:
        raise LlmMisconfigured(RUNTIME_MISSING)
    return runtime, model_file(settings)


def local_endpoint(settings: Settings) -> str:
    """The chat-completions base URL of the local model, served by the installed runtime; or
    BIZSQL_LLM_BASE_URL, a runtime another bizsql process started: ``bizsql serve --workers N`` starts one
    and hands it to every worker, so N workers share one model in memory and one set of cores."""
    if settings.llm_base_url:
        return settings.llm_base_url
    runtime, gguf = check_local(settings)
    return runtime.serve(gguf, settings)
