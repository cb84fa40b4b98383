"""A turn end to end with BIZSQL_LLM_PROVIDER=local: bizsql starts the runtime on SmolLM2-135M itself and
asks it through ChatOpenAI, on the real demo databases. Plumbing only: the turn completes with an answer of
the right shape, whatever the 135M-parameter model makes of the question.

Opt-in (``make test-local``): it needs the runtime (``pip install -e '.[local]'``) and the model
(``bizsql model install smollm2-135m``), and is skipped, saying which is missing, without them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bizsql.config import Settings
from bizsql.graph.clients import build_deps
from bizsql.graph.interfaces import Deps
from bizsql.local_model import RUNTIME_MISSING, find_runtime
from bizsql.model_store import CATALOG, installed_path
from tests.integration.graph.conftest import Chat

pytestmark = [pytest.mark.integration, pytest.mark.local_model]

MODEL = "smollm2-135m"


def installed_model() -> Path:
    """The model `bizsql model install` put under BIZSQL_DATA_DIR (by default ./.bizsql), or a skip."""
    path = installed_path(Settings().data_dir, CATALOG[MODEL])
    if not path.is_file():
        pytest.skip(f"the local model is not installed: run `bizsql model install {MODEL}` ({path})")
    return path


@pytest.fixture
async def local_deps(graph_settings: Settings) -> AsyncIterator[Deps]:
    if find_runtime() is None:
        pytest.skip(RUNTIME_MISSING)
    settings = Settings(
        **{
            **graph_settings.model_dump(exclude={"llm_provider", "llm_model", "llm_structured"}),
            "llm_provider": "local",
            "llm_model": MODEL,
            "llm_model_path": installed_model(),
            "llm_local_context": 4096,
            "llm_timeout_seconds": 120,
        }
    )
    deps = build_deps(settings)  # starts the runtime, on a free port, stopped when the process exits
    yield deps
    await deps.aclose()


async def test_a_turn_completes_on_a_local_model_that_bizsql_starts_itself(local_deps: Deps) -> None:
    out: dict[str, Any] = await Chat(local_deps, thread="local-model").ask(
        "How many customers are in each loyalty tier?"
    )

    assert isinstance(out["answer"], str) and out["answer"]
    assert out["error"] is None or set(out["error"]) >= {"code", "detail"}
    assert out["usage"]["calls"] >= 1
    assert out["usage"]["input_tokens"] > 0, "the runtime reports the tokens it read"


async def test_the_eval_counts_a_prompt_as_the_runtime_reads_it(local_deps: Deps) -> None:
    """The eval's prompt tokens for a local model come from its own tokenizer and chat template."""
    from langchain_core.messages import HumanMessage, SystemMessage

    from bizsql.evals.tokens import GgufCounter
    from bizsql.llm_providers import provider_model

    chosen = provider_model(local_deps.settings)  # the runtime the fixture started, not a second one
    assert chosen is not None
    messages = [
        SystemMessage("You write PostgreSQL.\nCREATE TABLE stores (id integer, state text, city text);"),
        HumanMessage("How many stores do we have in California? Answer in one word."),
    ]
    reply = await chosen.model.ainvoke(messages)
    assert reply.usage_metadata is not None
    assert GgufCounter(installed_model()).count_prompt(messages) == reply.usage_metadata["input_tokens"]
