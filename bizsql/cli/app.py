"""The `bizsql` command: the Typer app, its entry point, and where each command comes from."""

from __future__ import annotations

import os
import signal

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from bizsql.cli import evals, graph, models, service, sql
from bizsql.config import Settings
from bizsql.errors import LlmMisconfigured

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before any command loads a Hugging Face library
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

app = typer.Typer(help="bizsql: conversational text-to-SQL for many businesses.", no_args_is_help=True)
console = Console(stderr=True)

app.command()(service.serve)
app.command()(service.seed)
app.command("config")(service.show_config)
app.command("env")(service.env)
app.command("ask")(graph.ask)
app.command("index")(graph.index)
app.add_typer(sql.sql_app, name="sql")
app.command("mcp")(sql.mcp_command)
app.command("eval")(evals.eval_command)
app.add_typer(models.model_app, name="model")


def main() -> None:
    """The console script: settings that do not validate get what is wrong, per variable, and exit 2,
    instead of a traceback, as does an LLM provider that cannot be built. SIGTERM and SIGHUP end it as
    Ctrl-C does, so whatever it started stops."""
    for ending in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(ending, _exit_on_signal)
    try:
        app()
    except ValidationError as exc:
        if exc.title != Settings.__name__:
            raise
        console.print("[red]error:[/] invalid settings")
        for problem in exc.errors():
            field = str(problem["loc"][0]) if problem["loc"] else ""
            where = f"{Settings.variable(field)}: " if field else ""
            console.print(f"  {where}{problem['msg']}")
        raise SystemExit(2) from None
    except LlmMisconfigured as exc:
        console.print(f"[red]error:[/] {escape(exc.detail)}", soft_wrap=True, highlight=False)
        raise SystemExit(2) from None


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)
