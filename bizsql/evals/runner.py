"""Runs golden questions through the real graph (and the baseline) and records what each answer was worth.

Every turn goes through ``build_graph`` with the real clients (MongoDB business configs, the FAISS schema
index, the guarded executor as the business's reader role, the configured LLM); a conversation's turns share
one thread, so follow-ups see the earlier turns. A multi-step question (a golden *plan*) is one turn in its
own thread, scored step by step (``plans.py``), and the baseline gets it whole, to answer in one statement.
Gold results come from the same executor. Eval threads use an in-memory checkpointer and write no
conversation documents, so they never show up in a user's history.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from langchain_core.runnables import RunnableLambda
from langgraph.checkpoint.memory import InMemorySaver

from bizsql.auth.identity import Identity
from bizsql.config import Settings
from bizsql.errors import BizsqlError
from bizsql.evals.baseline import BaselineAnswer, WholeSchemaBaseline
from bizsql.evals.golden import (
    GOLDEN_DIR,
    GoldenPlan,
    GoldenSet,
    GoldenTurn,
    Split,
    Thread,
    load_golden,
)
from bizsql.evals.metering import LlmMeter
from bizsql.evals.plans import GoldStepRecord, PlanRecord, failed_outcome, plan_outcome
from bizsql.evals.records import Outcome, RunMeta, TurnRecord
from bizsql.evals.scoring import execution_match
from bizsql.evals.tokens import counter_for
from bizsql.graph.builder import build_graph
from bizsql.graph.clients import build_deps
from bizsql.graph.interfaces import Deps
from bizsql.graph.run import Turn, invoke_turn
from bizsql.llm_providers import llm_endpoint
from bizsql.stores.business import BusinessConfig

EVAL_USER = "bizsql-eval"
RECALL_AT = 5
T = TypeVar("T")


PROMPT_SETTINGS = (
    "retrieval_top_k",
    "retrieval_bridge_tables",
    "retrieval_detail_tables",
    "retrieval_detail_ratio",
    "retrieval_keep_ratio",
    "verified_examples",
    "verified_example_min_similarity",
    "verified_similarity_threshold",
    "summary_rows",
)


def spread(items: Sequence[T], limit: int | None) -> list[T]:
    """All items, or ``limit`` of them spread evenly over the file, in file order."""
    if limit is None or limit >= len(items):
        return list(items)
    if limit <= 0:
        return []
    picked = sorted({round(i * (len(items) - 1) / max(limit - 1, 1)) for i in range(limit)})
    return [items[i] for i in picked]


def select_threads(golden: GoldenSet, limit: int | None, split: Split = "all") -> list[Thread]:
    """All threads of ``split``, or ``limit`` of them spread evenly over the file (so easy, hard,
    conversations and non-database messages all appear in a short run), in file order."""
    return spread(list(golden.threads(split)), limit)


def select_plans(golden: GoldenSet, limit: int | None) -> list[GoldenPlan]:
    """The multi-step questions, or ``limit`` of them spread over the file (counted apart from threads)."""
    return spread(golden.plans, limit)


def recall(gold: Sequence[str], retrieved: Sequence[str], k: int = RECALL_AT) -> float:
    """Share of the gold tables among the first ``k`` tables the retriever put in the prompt."""
    top = set(retrieved[:k])
    return sum(1 for t in gold if t in top) / len(gold) if gold else 1.0


def graph_outcome(turn: GoldenTurn, out: dict[str, Any], gold: list[list[Any]] | None) -> Outcome:
    """Score one graph turn: classification, EX against the gold rows, retrieval recall, verified path."""
    intent = out.get("intent")
    result = out.get("result")
    error = out.get("error")
    rows = result["rows"] if result and not error else None
    verified = out.get("source") == "verified"
    tables = list(out.get("tables") or [])
    retrieved = turn.intent == "database" and intent == "database" and not verified and bool(tables)
    return Outcome(
        intent=intent,
        intent_ok=intent == turn.intent,
        sql=out.get("sql") or "",
        error=f"{error['code']}: {error['detail']}" if error else None,
        row_count=result["row_count"] if result else None,
        ex=execution_match(turn.sql, gold, rows) if turn.sql and gold is not None else None,
        tables=tables,
        recall_at_5=recall(turn.tables, tables) if retrieved else None,
        verified=verified,
    )


def baseline_outcome(gold_sql: str | None, answer: BaselineAnswer, gold: list[list[Any]] | None) -> Outcome:
    ex = execution_match(gold_sql, gold, answer.rows) if gold_sql and gold is not None else None
    return Outcome(
        sql=answer.sql,
        error=answer.error,
        row_count=len(answer.rows) if answer.rows is not None else None,
        ex=ex,
    )


@dataclass
class EvalRun:
    """What ``EvalRunner.run()`` found: single questions and conversation turns, and multi-step ones."""

    meta: RunMeta
    turns: list[TurnRecord] = field(default_factory=list)
    plans: list[PlanRecord] = field(default_factory=list)


class EvalRunner:
    """One eval run over some businesses; call ``run()`` once. ``questions`` and ``plans`` choose which
    kinds of golden items are asked."""

    def __init__(
        self,
        settings: Settings,
        *,
        businesses: Sequence[str],
        limit: int | None = None,
        split: Split = "all",
        baseline: bool = True,
        deps: Deps | None = None,
        golden_dir: Any = GOLDEN_DIR,
        questions: bool = True,
        plans: bool = True,
        on_turn: Callable[[TurnRecord], None] | None = None,
        on_plan: Callable[[PlanRecord], None] | None = None,
    ) -> None:
        self.settings = settings
        self.goldens = {b: load_golden(b, golden_dir) for b in businesses}
        self.limit, self.split = limit, split
        self.with_baseline = baseline
        self._own_deps = deps is None
        self.deps = deps or build_deps(settings, conversations=None)
        self.with_questions, self.with_plans = questions, plans
        self.on_turn, self.on_plan = on_turn, on_plan
        counter = counter_for(settings)
        self.meter = LlmMeter(counter)
        self.meta = RunMeta(
            run_id=uuid.uuid4().hex[:12],
            started_at=datetime.now(UTC),
            model=settings.llm_model,
            llm_endpoint=llm_endpoint(settings),
            businesses=list(businesses),
            limit=limit,
            split=split,
            baseline=baseline,
            kinds=[k for k, on in (("questions", questions), ("plans", plans)) if on],
            token_counter=counter.name,
            prompt_settings={name: getattr(settings, name) for name in PROMPT_SETTINGS},
        )

    def planned(self) -> dict[str, list[Thread]]:
        if not self.with_questions:
            return {b: [] for b in self.goldens}
        return {b: select_threads(g, self.limit, self.split) for b, g in self.goldens.items()}

    def planned_plans(self) -> dict[str, list[GoldenPlan]]:
        if not self.with_plans:
            return {b: [] for b in self.goldens}
        return {b: select_plans(g, self.limit) for b, g in self.goldens.items()}

    async def run(self) -> EvalRun:
        found = EvalRun(self.meta)
        threads, plans = self.planned(), self.planned_plans()
        try:
            graph = build_graph(InMemorySaver())
            baseline = self._baseline()
            for business_id in self.goldens:
                business = await self.deps.configs.get(business_id)
                await self._warm_up(business, baseline)
                for thread in threads[business_id]:
                    found.turns.extend(await self._thread(graph, baseline, business, thread))
                for plan in plans[business_id]:
                    found.plans.append(await self._plan(graph, baseline, business, plan))
        finally:
            if self._own_deps:
                await self.deps.aclose()
        self.meta.finished_at = datetime.now(UTC)
        return found

    def _baseline(self) -> WholeSchemaBaseline | None:
        if not self.with_baseline or self.deps.llm is None:
            return None
        return WholeSchemaBaseline(self.deps.llm, self.deps.executor, self.deps.schema_index.source)

    async def _warm_up(self, business: BusinessConfig, baseline: WholeSchemaBaseline | None) -> None:
        """Build the index, load the embedding model and read the schema before any timing starts."""
        await self.deps.schema_index.ensure(business)
        await self.deps.schema_index.verified_matches(business, "warm up", 1)
        if baseline is not None:
            await baseline.schema(business)

    async def _thread(
        self, graph: Any, baseline: WholeSchemaBaseline | None, business: BusinessConfig, thread: Thread
    ) -> list[TurnRecord]:
        identity = Identity(EVAL_USER, "analyst", business.business_id)
        thread_id = f"eval-{self.meta.run_id}-{thread.id}"
        history: list[tuple[str, str]] = []
        records = []
        for index, turn in enumerate(thread.turns):
            gold = await self._rows(turn.sql, business, identity) if turn.sql else None
            bizsql = await self._ask_graph(graph, business, identity, thread_id, turn, gold)
            other = None
            if baseline is not None and turn.intent == "database":
                other = await self._ask_baseline(
                    baseline, business, identity, turn.question, turn.sql, gold, history
                )
                history.append((turn.question, other.sql))
            record = TurnRecord(
                business=business.business_id,
                thread_id=thread.id,
                turn_id=turn.id,
                turn_index=index,
                question=turn.question,
                expected_intent=turn.intent,
                difficulty=turn.difficulty,
                verified_question=turn.verified_question,
                gold_row_count=len(gold) if gold is not None else None,
                bizsql=bizsql,
                baseline=other,
            )
            records.append(record)
            if self.on_turn is not None:
                self.on_turn(record)
        return records

    async def _plan(
        self, graph: Any, baseline: WholeSchemaBaseline | None, business: BusinessConfig, plan: GoldenPlan
    ) -> PlanRecord:
        """One multi-step question: the graph in a thread of its own, then the baseline in one statement."""
        identity = Identity(EVAL_USER, "analyst", business.business_id)
        gold = [await self._rows(step.sql, business, identity) for step in plan.steps]
        asked = Turn(identity, business.business_id, f"eval-{self.meta.run_id}-{plan.id}", plan.question)
        self.meter.take()
        started = time.perf_counter()
        try:
            outcome = plan_outcome(
                plan, await invoke_turn(graph, self.deps, asked, callbacks=[self.meter]), gold
            )
        except BizsqlError as exc:
            outcome = failed_outcome(f"{exc.code}: {exc.detail}")
        except Exception as exc:  # a crash is a wrong answer, and the other questions still get asked
            outcome = failed_outcome(f"crash: {type(exc).__name__}: {exc}")
        latency = (time.perf_counter() - started) * 1000
        ours = outcome.model_copy(update={**asdict(self.meter.take()), "latency_ms": latency})
        other = None
        if baseline is not None:
            other = await self._ask_baseline(
                baseline, business, identity, plan.question, plan.final.sql, gold[-1], []
            )
        record = PlanRecord(
            business=business.business_id,
            plan_id=plan.id,
            question=plan.question,
            difficulty=plan.difficulty,
            gold_steps=[
                GoldStepRecord(question=s.question, uses=s.uses, row_count=len(rows))
                for s, rows in zip(plan.steps, gold, strict=True)
            ],
            bizsql=ours,
            baseline=other,
        )
        if self.on_plan is not None:
            self.on_plan(record)
        return record

    async def _rows(self, sql: str, business: BusinessConfig, identity: Identity) -> list[list[Any]]:
        result = await self.deps.executor.run(sql, business=business, identity=identity)
        return [list(r) for r in result.rows]

    async def _ask_graph(
        self,
        graph: Any,
        business: BusinessConfig,
        identity: Identity,
        thread_id: str,
        turn: GoldenTurn,
        gold: list[list[Any]] | None,
    ) -> Outcome:
        asked = Turn(identity, business.business_id, thread_id, turn.question)
        self.meter.take()
        started = time.perf_counter()
        try:
            out = await invoke_turn(graph, self.deps, asked, callbacks=[self.meter])
            outcome = graph_outcome(turn, out, gold)
        except BizsqlError as exc:
            outcome = Outcome(error=f"{exc.code}: {exc.detail}", ex=False if turn.sql else None)
        except Exception as exc:  # a crash is a wrong answer, and the other questions still get asked
            outcome = Outcome(error=f"crash: {type(exc).__name__}: {exc}", ex=False if turn.sql else None)
        latency = (time.perf_counter() - started) * 1000
        return outcome.model_copy(update={**asdict(self.meter.take()), "latency_ms": latency})

    async def _ask_baseline(
        self,
        baseline: WholeSchemaBaseline,
        business: BusinessConfig,
        identity: Identity,
        question: str,
        gold_sql: str | None,
        gold: list[list[Any]] | None,
        history: list[tuple[str, str]],
    ) -> Outcome:
        async def ask(question: str) -> BaselineAnswer:
            return await baseline.answer(business, identity, question, history)

        self.meter.take()
        started = time.perf_counter()
        try:
            answer = await RunnableLambda(ask).ainvoke(question, {"callbacks": [self.meter]})
        except Exception as exc:  # as for the graph: counted wrong, and the run goes on
            answer = BaselineAnswer("", error=f"crash: {type(exc).__name__}: {exc}")
        latency = (time.perf_counter() - started) * 1000
        outcome = baseline_outcome(gold_sql, answer, gold)
        return outcome.model_copy(update={**asdict(self.meter.take()), "latency_ms": latency})
