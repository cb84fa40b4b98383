"""The `bizsql` command: serve, seed and config (more commands arrive with their issues)."""

from __future__ import annotations

import os
import time
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from bizsql.config import Settings, get_settings
from bizsql.embedded import EmbeddedUnavailable, embedded_servers
from bizsql.log import configure_logging

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

app = typer.Typer(help="bizsql: conversational text-to-SQL for many businesses.", no_args_is_help=True)
console = Console(stderr=True)


def main() -> None:
    """The console script: settings that do not validate get what is wrong, per variable, and exit 2,
    instead of a traceback."""
    try:
        app()
    except ValidationError as exc:
        if exc.title != Settings.__name__:
            raise
        console.print("[red]error:[/] invalid settings")
        for problem in exc.errors():
            field = str(problem["loc"][0]) if problem["loc"] else ""
            console.print(f"  {Settings.variable(field)}: {problem['msg']}")
        raise SystemExit(2) from None


def _settings() -> Settings:
    settings = get_settings()
    configure_logging(settings.log_level)
    return settings


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default from BIZSQL_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from BIZSQL_PORT).")] = None,
) -> None:
    """Start the servers that are not configured, seed the demo businesses if needed, and serve the API."""
    import uvicorn

    from bizsql.demo.seed import seed_all
    from bizsql.server import create_app

    settings = _settings()
    started = time.monotonic()
    try:
        with embedded_servers(settings) as resolved:
            report = seed_all(resolved)
            console.print(
                f"[green]ready in {time.monotonic() - started:.1f} s[/] "
                f"(seed {'changed data' if report.changed else 'had nothing to do'})"
            )
            uvicorn.run(
                create_app(resolved),
                host=host or resolved.host,
                port=port or resolved.port,
                log_config=None,
            )
    except EmbeddedUnavailable as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None


@app.command()
def seed() -> None:
    """Create the three demo businesses (databases, roles, data, configs, users). Idempotent."""
    from bizsql.demo.seed import SeedError, seed_all

    settings = _settings()
    try:
        with embedded_servers(settings) as resolved:
            report = seed_all(resolved)
    except (EmbeddedUnavailable, SeedError) as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    if not report.changed:
        console.print(f"[green]already seeded[/]: nothing changed ({report.seconds:.1f} s)")
        return
    console.print(
        f"[green]seeded[/] in {report.seconds:.1f} s: databases created {report.databases_created}, "
        f"rows loaded {report.data_loaded}, roles created {report.roles_created}, "
        f"configs changed {report.configs_changed}, users created {report.users_created}"
    )


@app.command("config")
def show_config() -> None:
    """Print every setting with its environment variable and description; secrets are masked."""
    table = Table("variable", "value", "description", title="bizsql settings")
    for env, value, description in _settings().described():
        table.add_row(env, value, description)
    Console().print(table)


from bizsql.cli_graph import register as _register_graph_commands  # noqa: E402  (issue 6: ask, index)

_register_graph_commands(app)

from bizsql.cli_sql import mcp_command, sql_app  # noqa: E402  (issue 5: sql check|run, mcp)

app.add_typer(sql_app, name="sql")
app.command("mcp")(mcp_command)

from bizsql.cli_eval import eval_command  # noqa: E402  (issue 8: eval)

app.command("eval")(eval_command)


if __name__ == "__main__":
    main()
