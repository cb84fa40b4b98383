"""plan: split a question that needs several queries into ordered steps, within the day's token budget.

Classify decides whether a plan is needed (no extra call for a one-step question). The plan is refused
before any step runs when the business's daily budget cannot pay for all of its steps: a person then
hears how much it would cost and what is left, instead of half an answer.
"""

from __future__ import annotations

from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field

from bizsql.auth.budget import seconds_to_midnight
from bizsql.errors import LlmUnavailable, RateLimited
from bizsql.graph.context import Context
from bizsql.graph.state import PlanStep, State
from bizsql.nodes.answers import answer_message, llm_failure, resets_in, turn_error
from bizsql.nodes.classify import table_names
from bizsql.nodes.scope import RunScope, begin
from bizsql.prompts import plan as prompt

SMALLEST_PLAN = 2


class StepDraft(BaseModel):
    question: str = Field(description="One question that a single SQL query answers.")
    uses: list[int] = Field(
        default_factory=list, description="Numbers (1 = first) of earlier steps whose results it needs."
    )


class PlanDraft(BaseModel):
    """The ordered steps that answer the question."""

    steps: list[StepDraft] = Field(description="In order; as few as the question allows.")


def plan_steps(draft: PlanDraft, max_steps: int) -> list[PlanStep]:
    """The model's steps, cleaned: empty ones dropped, at most ``max_steps``, and each step's ``uses``
    kept to earlier steps only (0-based), so the order can always run."""
    steps: list[PlanStep] = []
    numbers: dict[int, int] = {}  # the model's 1-based number -> our index
    for number, step in enumerate(draft.steps, start=1):
        question = " ".join(step.question.split())
        if not question or len(steps) == max_steps:
            continue
        uses = sorted({numbers[u] for u in step.uses if u in numbers})
        numbers[number] = len(steps)
        steps.append({"question": question, "uses": uses})
    return steps


def plan_cost(scope: RunScope, steps: int) -> int:
    """Tokens a plan of ``steps`` steps is expected to use: a SQL call per step, and the plan and answer
    calls together as one more."""
    return (steps + 1) * scope.deps.settings.plan_step_tokens


def over_budget(scope: RunScope, steps: int, left: int) -> State:
    """The answer to a plan the day's budget cannot pay for: a whole turn, saying what it would cost."""
    cost = plan_cost(scope, steps)
    whose = scope.business.name if scope.business else "this business"
    wait = seconds_to_midnight()
    answer = (
        f"This question needs {steps} separate queries (about {cost:,} AI tokens), but {whose} has only "
        f"{left:,} tokens left in today's AI budget, so I did not start it. Ask for one part at a time, or "
        f"ask again after the budget resets at midnight UTC ({resets_in(wait)})."
    )
    error = RateLimited(f"a {steps}-step plan needs about {cost:,} tokens; {left:,} are left today", wait)
    return {
        "intent": "unavailable",
        "answer": answer,
        "error": turn_error(error),
        "messages": [answer_message(answer, intent="unavailable", error=error.code)],
    }


async def plan(
    state: State,
    runtime: Runtime[Context],
) -> State:
    scope = await begin(runtime)
    llm, business = scope.deps.llm, scope.business
    assert llm is not None and business is not None, "classify routes here only with an LLM and a business"
    left = await llm.budget_left(business.business_id)
    if left is not None and left < plan_cost(scope, SMALLEST_PLAN):
        return over_budget(scope, SMALLEST_PLAN, left)
    max_steps = scope.deps.settings.max_steps
    messages = [
        SystemMessage(
            prompt.SYSTEM.format(
                business_name=business.name,
                business_description=business.description,
                table_list=table_names(scope),
                max_steps=max_steps,
            )
        ),
        HumanMessage(prompt.HUMAN.format(question=state.get("question", ""))),
    ]
    try:
        draft, usage = await llm.structured(PlanDraft, messages, business_id=business.business_id)
    except (LlmUnavailable, RateLimited) as exc:
        return llm_failure(scope, exc)
    steps = plan_steps(draft, max_steps) or [{"question": state.get("question", ""), "uses": []}]
    update: State = {"plan": steps, "usage": usage.as_metadata()}
    left = await llm.budget_left(business.business_id)
    if left is not None and left < plan_cost(scope, len(steps)):
        return {**update, **over_budget(scope, len(steps), left), "plan": []}
    return update
