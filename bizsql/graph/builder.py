"""The graph of one chat turn: the wiring and the small routing functions, nothing else.

``graph`` (for ``langgraph.json`` and LangServe) compiles without any server running: clients are made on
first use, from the run's ``Context`` or from settings.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from bizsql.graph.context import Context
from bizsql.graph.state import InputState, State, StepInput, StepOutput, StepState
from bizsql.nodes.answer_general import answer_general
from bizsql.nodes.approve_write import await_approval, propose_write
from bizsql.nodes.classify import classify
from bizsql.nodes.combine import combine
from bizsql.nodes.execute import execute
from bizsql.nodes.generate_sql import generate_sql
from bizsql.nodes.load_context import load_context
from bizsql.nodes.match_verified import match_verified
from bizsql.nodes.persist import persist
from bizsql.nodes.plan import plan
from bizsql.nodes.respond import respond
from bizsql.nodes.retrieve_schema import retrieve_schema
from bizsql.nodes.steps import check_step_sql, finish_step, gather_steps, next_steps, start_step
from bizsql.nodes.validate import validate


def after_match(state: State) -> Literal["validate", "classify", "persist"]:
    if state.get("answer"):
        return "persist"
    return "validate" if state.get("source") == "verified" else "classify"


def after_classify(state: State) -> Literal["retrieve_schema", "plan", "answer_general", "persist"]:
    if state.get("answer"):
        return "persist"  # clarifying question, no business, or no LLM: already answered
    if state.get("intent") == "general":
        return "answer_general"
    return "plan" if state.get("needs_plan") else "retrieve_schema"


def after_retrieve(state: State | StepState) -> Literal["validate", "generate_sql"]:
    return "validate" if state.get("source") == "verified" else "generate_sql"


def after_generate(state: State | StepState) -> Literal["validate", "respond"]:
    return "respond" if state.get("error") else "validate"


def after_validate(
    state: State | StepState,
) -> Literal["generate_sql", "execute", "propose_write", "respond"]:
    if state.get("error"):
        return "generate_sql" if state.get("retry") else "respond"
    return "propose_write" if state.get("needs_approval") else "execute"


def after_propose(state: State) -> Literal["await_approval", "respond"]:
    return "respond" if state.get("error") else "await_approval"


def after_approval(state: State) -> Literal["propose_write", "respond"]:
    """The rows changed since the dry run: a fresh one, and a new approval."""
    approval = state.get("approval")
    return "propose_write" if approval and approval["status"] == "stale" else "respond"


def after_execute(state: State | StepState) -> Literal["generate_sql", "respond"]:
    return "generate_sql" if state.get("retry") else "respond"


def build_step_graph() -> CompiledStateGraph[StepState, Context, StepInput, StepOutput]:
    """One step of a plan: the SQL path of a one-step turn (same nodes, same retries), read-only, in its
    own state. It shares the turn's checkpointer (each step under its own namespace), which is what
    makes it a subgraph to LangGraph: Studio and ``draw_mermaid(xray=1)`` show its nodes, and a stream
    with ``subgraphs=True`` its events, as it runs."""
    builder = StateGraph(StepState, context_schema=Context, input_schema=StepInput, output_schema=StepOutput)
    builder.add_node("start_step", start_step)
    builder.add_node("retrieve_schema", retrieve_schema)
    builder.add_node("generate_sql", generate_sql)
    builder.add_node("validate", check_step_sql)
    builder.add_node("execute", execute)
    builder.add_node("finish_step", finish_step)
    builder.add_edge(START, "start_step")
    builder.add_edge("start_step", "retrieve_schema")
    builder.add_conditional_edges("retrieve_schema", after_retrieve)
    builder.add_conditional_edges(
        "generate_sql", after_generate, {"validate": "validate", "respond": "finish_step"}
    )
    builder.add_conditional_edges(
        "validate",
        after_validate,
        {"generate_sql": "generate_sql", "execute": "execute", "respond": "finish_step"},
    )
    builder.add_conditional_edges(
        "execute", after_execute, {"generate_sql": "generate_sql", "respond": "finish_step"}
    )
    builder.add_edge("finish_step", END)
    return builder.compile(name="step")


def step_runner(
    step_graph: CompiledStateGraph[StepState, Context, StepInput, StepOutput],
) -> Callable[[StepInput, RunnableConfig], Awaitable[StepOutput]]:
    """The ``run_step`` node: the step subgraph, called with the node's config (so it runs as a subgraph,
    under the turn's checkpointer and streams), handing on only its result and its tokens.

    Added directly as a node, a subgraph may hand back its whole state when the run is streamed as
    events (LangServe's /graph/stream_events, Studio), and two parallel steps then both write
    ``question``: InvalidUpdateError (langgraph issue 6446). Calling it here keeps the output exact."""

    async def run_step(state: StepInput, config: RunnableConfig) -> StepOutput:
        out = await step_graph.ainvoke(state, config)
        return {key: out[key] for key in StepOutput.__annotations__ if key in out}  # type: ignore[return-value]

    return run_step


def build_graph(
    checkpointer: BaseCheckpointSaver[str] | None = None,
) -> CompiledStateGraph[State, Context, InputState, State]:
    """The compiled turn graph. Pass a checkpointer to keep conversations (none: stateless turns)."""
    builder = StateGraph(State, context_schema=Context, input_schema=InputState, output_schema=State)
    builder.add_node("load_context", load_context)
    builder.add_node("match_verified", match_verified)
    builder.add_node("classify", classify)
    builder.add_node("answer_general", answer_general)
    builder.add_node("retrieve_schema", retrieve_schema)
    builder.add_node("generate_sql", generate_sql)
    builder.add_node("validate", validate)
    builder.add_node("execute", execute)
    builder.add_node("propose_write", propose_write)  # a write's dry run ...
    builder.add_node("await_approval", await_approval)  # ... then interrupt() until someone decides
    builder.add_node("respond", respond)
    builder.add_node("plan", plan)
    # one run per Send, whose payload is a StepInput, not the turn's State
    builder.add_node("run_step", step_runner(build_step_graph()))  # type: ignore[arg-type]
    builder.add_node("gather_steps", gather_steps)
    builder.add_node("combine", combine)
    builder.add_node("persist", persist)

    builder.add_edge(START, "load_context")
    builder.add_edge("load_context", "match_verified")
    builder.add_conditional_edges("match_verified", after_match)
    builder.add_conditional_edges("classify", after_classify)
    builder.add_conditional_edges("retrieve_schema", after_retrieve)
    builder.add_conditional_edges("generate_sql", after_generate)
    builder.add_conditional_edges("validate", after_validate)
    builder.add_conditional_edges("execute", after_execute)
    builder.add_conditional_edges("plan", next_steps, ["run_step", "combine", "persist"])
    builder.add_edge("run_step", "gather_steps")
    builder.add_conditional_edges("gather_steps", next_steps, ["run_step", "combine", "persist"])
    builder.add_edge("combine", "persist")
    builder.add_conditional_edges("propose_write", after_propose)
    builder.add_conditional_edges("await_approval", after_approval)
    builder.add_edge("answer_general", "persist")
    builder.add_edge("respond", "persist")
    builder.add_edge("persist", END)
    return builder.compile(checkpointer=checkpointer, name="bizsql")


graph = build_graph()
"""For ``langgraph.json`` and LangServe: no checkpointer here (langgraph dev brings its own)."""
