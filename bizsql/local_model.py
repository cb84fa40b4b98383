"""The local provider: a GGUF file on this machine, served over the chat-completions API by a runtime.

The runtime is llama.cpp's ``llama-server`` on PATH, or ``llama-cpp-python`` (whose ``llama_cpp.server``
speaks the same API). Neither is a bizsql dependency (llama-cpp-python compiles from source), so a missing
one is reported at start with what to install. Each runtime is a ``LocalRuntime``: starting it as a child
process, stopped with bizsql as the embedded databases are, plugs in there.
"""

from __future__ import annotations

import importlib.util
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bizsql.config import Settings
from bizsql.errors import LlmMisconfigured

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


@dataclass(frozen=True)
class NotYetStartable:
    """A runtime that is installed but that bizsql does not start yet (the next step of issue 16)."""

    name: str

    def serve(self, gguf: Path, settings: Settings) -> str:
        raise LlmMisconfigured(
            f"found {self.name}, but bizsql does not start it yet: run it yourself on {gguf} (e.g. "
            "`llama-server -m FILE --port 8080`) and set BIZSQL_LLM_PROVIDER=openai_compatible, "
            "BIZSQL_LLM_BASE_URL=http://127.0.0.1:8080/v1"
        )


def find_runtime() -> LocalRuntime | None:
    """The first runtime installed: llama-server on PATH, else llama-cpp-python."""
    if exe := shutil.which("llama-server"):
        return NotYetStartable(f"llama-server ({exe})")
    if importlib.util.find_spec("llama_cpp") is not None:
        return NotYetStartable("llama-cpp-python")
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
    """The chat-completions base URL of the local model, served by the installed runtime."""
    runtime, gguf = check_local(settings)
    return runtime.serve(gguf, settings)
