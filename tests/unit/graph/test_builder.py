"""The graph module loads with no server running, and says what Studio and LangServe need."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typing_extensions import is_typeddict

from bizsql.graph.builder import build_graph, graph
from bizsql.graph.state import InputState, State

ROOT = Path(__file__).resolve().parents[3]
NODES = {"load_context", "match_verified", "classify", "answer_general", "retrieve_schema", "generate_sql",
         "validate", "execute", "respond", "persist", "plan", "run_step", "gather_steps", "combine",
         "propose_write", "await_approval"}  # fmt: skip


def test_langgraph_json_points_at_the_module_level_graph() -> None:
    spec = json.loads((ROOT / "langgraph.json").read_text())
    path, _, name = spec["graphs"]["bizsql"].partition(":")
    assert (ROOT / path).exists() and name == "graph"


def test_the_graph_module_imports_without_servers_or_the_embedding_model() -> None:
    code = (
        "import sys; from bizsql.graph.builder import graph; "
        "assert graph.get_graph().nodes; "
        "assert 'sentence_transformers' not in sys.modules and 'torch' not in sys.modules"
    )
    env = {"PATH": "/usr/bin:/bin", "BIZSQL_POSTGRES_URL": "postgresql://nobody@127.0.0.1:1/none",
           "BIZSQL_MONGO_URL": "mongodb://127.0.0.1:1", "HF_HUB_OFFLINE": "1"}  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()[-2000:]


def test_every_node_and_route_is_in_the_picture() -> None:
    drawn = graph.get_graph()
    assert set(drawn.nodes) >= NODES
    edges = {(e.source, e.target) for e in drawn.edges}
    assert ("execute", "generate_sql") in edges, "the retry loop"
    assert ("validate", "respond") in edges, "refusals skip execution"
    assert ("match_verified", "validate") in edges, "the verified fast path skips the LLM"
    assert "flowchart" in drawn.draw_mermaid() or "graph TD" in drawn.draw_mermaid()


def test_schemas_are_typed_dicts_and_the_context_schema_hides_the_clients() -> None:
    assert is_typeddict(State) and is_typeddict(InputState)
    context = build_graph().get_context_jsonschema()
    assert context is not None
    assert set(context["properties"]) == {"business_id", "username", "role", "home_business"}
    assert set(graph.get_input_jsonschema()["properties"]) == {"messages"}


def test_the_pictures_in_the_readme_and_the_graph_docs_are_the_graph_as_built() -> None:
    from scripts.draw_graph import PAGES, drawn, picture

    mermaid = drawn()
    assert "subgraph run_step" in mermaid and "run_step\\3agenerate_sql" in mermaid, "a step's nodes"
    for page in PAGES:
        assert picture(page.read_text(encoding="utf-8")) == mermaid, (
            f"{page.name} shows another graph: run `python -m scripts.draw_graph`"
        )


def test_a_plan_fans_out_to_steps_and_gathers_them_before_the_answer() -> None:
    edges = {(e.source, e.target) for e in graph.get_graph().edges}
    assert {("classify", "plan"), ("plan", "run_step"), ("run_step", "gather_steps")} <= edges
    assert {("gather_steps", "run_step"), ("gather_steps", "combine"), ("combine", "persist")} <= edges
