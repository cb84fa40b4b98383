"""`bizsql eval`: the golden questions through the real graph and the whole-schema baseline, side by side."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from pydantic import SecretStr, ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bizsql.config import Settings
from bizsql.embedded import EmbeddedUnavailable, embedded_servers
from bizsql.errors import BizsqlError
from bizsql.evals.golden import Split
from bizsql.llm_providers import check_provider
from bizsql.log import configure_logging

if TYPE_CHECKING:
    from bizsql.evals.runner import EvalRun

Kind = Literal["all", "questions", "plans"]
Provider = Literal["mistral", "openai_compatible", "local"]

DEFAULT_OUT = Path("evals/reports")
NO_KEY = """\
[red]error:[/] no LLM is configured, and `bizsql eval` asks one every golden question.

Set your Mistral API key (from https://console.mistral.ai/api-keys) and run it again:

    export MISTRAL_API_KEY=your-key
    bizsql eval --business acme_retail --limit 10

To check the harness itself without a key, point MISTRAL_BASE_URL at a Mistral-compatible
server, such as the scripted test stub:

    python -m tests.support.eval_stub --port 8911 &
    MISTRAL_BASE_URL=http://127.0.0.1:8911/v1 bizsql eval"""

err = Console(stderr=True)
out = Console()


def _llm_settings(provider: Provider | None, model: str | None) -> Settings | None:
    """Settings for the run (``--provider`` and ``--model`` over the environment's), or None when Mistral
    is chosen with no key. A Mistral base URL alone (a local stub or a self-hosted endpoint) needs no real
    key, so a placeholder is used; the other providers always have a model, and Settings checked it."""
    chosen: dict[str, object] = {"llm_provider": provider} if provider else {}
    if model:
        chosen["llm_model"] = model
    settings = Settings(**chosen)  # type: ignore[arg-type]
    if settings.llm_provider != "mistral":
        return settings
    key = settings.mistral_api_key.get_secret_value() if settings.mistral_api_key else ""
    if not key and not settings.mistral_base_url:
        return None
    return settings.model_copy(update={"mistral_api_key": SecretStr(key or "no-key-needed")})


def eval_command(
    business: Annotated[
        str | None, typer.Option("--business", "-b", help="Only this business (default: every golden set).")
    ] = None,
    provider: Annotated[
        Provider | None,
        typer.Option(help="Who runs the model (default from BIZSQL_LLM_PROVIDER): local starts the runtime."),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            help="The model: Mistral's, the server's, or an installed local one (BIZSQL_LLM_MODEL)."
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            min=1, help="At most N threads (and N multi-step questions) per business, spread over the set."
        ),
    ] = None,
    split: Annotated[
        Split,
        typer.Option(
            help="Which threads: all, the development two-thirds, or the held-out third (never used to "
            "choose a change, only to check one)."
        ),
    ] = "all",
    baseline: Annotated[
        bool, typer.Option("--baseline/--no-baseline", help="Also run the whole-schema baseline.")
    ] = True,
    kind: Annotated[
        Kind,
        typer.Option(
            help="Which golden items: single questions and conversations, multi-step questions, or all."
        ),
    ] = "all",
    out_dir: Annotated[
        Path, typer.Option("--out", help="Where the JSON and Markdown reports go.")
    ] = DEFAULT_OUT,
) -> None:
    """Score bizsql on the golden questions: EX, classification, retrieval recall@5, verified-path hits,
    LLM calls, tokens and latency, next to the classic whole-schema baseline; and the multi-step
    questions step by step and whole."""
    from bizsql.demo.seed import SeedError, seed_all
    from bizsql.evals.golden import available_businesses
    from bizsql.evals.report import build_report, rich_tables, write_reports

    try:
        settings = _llm_settings(provider, model)
        if settings is not None:
            check_provider(settings)  # a missing runtime or model file, before any server starts
    except (ValidationError, BizsqlError) as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    if settings is None:
        err.print(NO_KEY, soft_wrap=True, highlight=False)
        raise typer.Exit(2)
    configure_logging("WARNING")
    known = available_businesses()
    if business is not None and business not in known:
        err.print(f"[red]error:[/] no golden set for {business!r}; there are: {', '.join(known)}")
        raise typer.Exit(2)
    try:
        with embedded_servers(settings) as resolved:
            seed_all(resolved)  # the golden SQL is written against the demo data, as `bizsql serve` seeds it
            found = asyncio.run(
                _run(resolved, [business] if business else known, limit, split, baseline, kind)
            )
    except (EmbeddedUnavailable, BizsqlError, SeedError) as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    meta = found.meta
    report = build_report(meta, found.turns, found.plans)
    json_path, md_path = write_reports(report, out_dir)
    for table in rich_tables(report):
        out.print(table)
    for name, ratio in report.prompt_token_ratio.items():
        if ratio is not None:
            out.print(f"prompt tokens per database question, bizsql ÷ baseline, {name}: {ratio:.2f}")
    out.print(f"tokens counted with: {meta.token_counter}")
    out.print(f"reports: {json_path}  {md_path}")


async def _run(
    settings: Settings,
    businesses: list[str],
    limit: int | None,
    split: Split,
    baseline: bool,
    kind: Kind,
) -> EvalRun:
    from bizsql.evals.runner import EvalRunner

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=False) as progress:
        task = progress.add_task("starting", total=None)

        def advance(business: str, item: str) -> None:
            progress.update(task, advance=1, description=f"{business} {item}")

        runner = EvalRunner(
            settings,
            businesses=businesses,
            limit=limit,
            split=split,
            baseline=baseline,
            questions=kind != "plans",
            plans=kind != "questions",
            on_turn=lambda r: advance(r.business, r.turn_id),
            on_plan=lambda r: advance(r.business, r.plan_id),
        )
        turns = sum(len(t.turns) for ts in runner.planned().values() for t in ts)
        progress.update(task, total=turns + sum(len(ps) for ps in runner.planned_plans().values()))
        return await runner.run()
