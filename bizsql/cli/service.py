"""The service's own commands: serve, seed, config and env."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bizsql.config import SERVER_URLS, Settings, get_settings
from bizsql.embedded import EmbeddedUnavailable, embedded_servers
from bizsql.llm_providers import check_provider
from bizsql.log import configure_logging

console = Console(stderr=True)


def _settings() -> Settings:
    settings = get_settings()
    configure_logging(settings.log_level)
    return settings


def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default from BIZSQL_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from BIZSQL_PORT).")] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="Server processes on the port (default from BIZSQL_WORKERS, 1)."),
    ] = None,
) -> None:
    """Start the servers that are not configured, seed the demo businesses if needed, and serve the API."""
    from bizsql.demo.seed import seed_all

    settings = _settings()
    processes = workers or settings.workers
    started = time.monotonic()
    check_provider(settings)
    try:
        with embedded_servers(settings) as resolved:
            report = seed_all(resolved)
            console.print(
                f"[green]ready in {time.monotonic() - started:.1f} s[/] "
                f"(seed {'changed data' if report.changed else 'had nothing to do'})"
            )
            _serve(resolved, host or resolved.host, port or resolved.port, processes)
    except EmbeddedUnavailable as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None


def _serve(resolved: Settings, host: str, port: int, workers: int) -> None:
    """One worker serves in this process; more are uvicorn's worker processes, sharing the servers."""
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE

    if workers > 1:
        from bizsql.cli.workers import serve_workers

        if not serve_workers(resolved, host=host, port=port, workers=workers):
            console.print("[red]error:[/] a worker could not start; see the log above")
            raise typer.Exit(STARTUP_FAILURE)
        return
    from bizsql.server import create_app

    uvicorn.run(create_app(resolved), host=host, port=port, log_config=None)


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


def show_config() -> None:
    """Print every setting with its environment variable and description; secrets are masked."""
    table = Table("variable", "value", "description", title="bizsql settings")
    for env, value, description in _settings().described():
        table.add_row(env, value, description)
    Console().print(table)


def env() -> None:
    """Print `export BIZSQL_...` lines for the servers running now, for `eval "$(bizsql env)"` before
    `langgraph dev` or any other tool that should use them. Embedded servers run only while a bizsql
    process (e.g. `bizsql serve`) uses them; configured URLs are printed as they are."""
    settings = _settings()
    urls = _running_urls(settings)
    if not urls:
        where = settings.data_dir.resolve()
        console.print(
            f"[red]error:[/] no bizsql servers are running for the data directory {where} and no "
            "BIZSQL_*_URL is set: start `bizsql serve` (or `make serve`) in another terminal, keep it "
            "running, and try again"
        )
        raise typer.Exit(1)
    for line in _env_lines(settings, urls):
        typer.echo(line)
    missing = [Settings.variable(key) for key in SERVER_URLS if key not in urls]
    if missing:
        console.print(
            f"[red]error:[/] no server answers for {', '.join(missing)}: start `bizsql serve` in another "
            "terminal, or set them"
        )
        raise typer.Exit(1)


def _running_urls(settings: Settings) -> dict[str, str]:
    """Each server's URL by settings field: configured ones as they are, embedded ones that answer."""
    from bizsql.embedded import servers_of
    from bizsql.embedded_state import read_state

    base = settings.data_dir / "embedded"
    recorded, servers = read_state(base).urls, servers_of(base)
    urls = {key: getattr(settings, key) for key in SERVER_URLS if getattr(settings, key)}
    for key in SERVER_URLS:
        if key not in urls and (url := recorded.get(key)) and servers[key].answers(url):
            urls[key] = url
    return urls


def _env_lines(settings: Settings, urls: dict[str, str]) -> list[str]:
    """Shell lines for the URLs, the MongoDB database and the data directory (absolute, so any working
    directory finds its instance secret and indexes), and where the secrets come from (never their value)."""
    import shlex

    resolved = settings.model_copy(update=urls)
    values = {Settings.variable(key): url for key, url in urls.items()}
    values |= {"BIZSQL_MONGO_DB": resolved.mongo_db, "BIZSQL_DATA_DIR": str(settings.data_dir.resolve())}
    lines = [f"export {variable}={shlex.quote(value)}" for variable, value in values.items()]
    unset = [Settings.variable(f) for f in ("jwt_secret", "role_secret") if getattr(settings, f) is None]
    lines.append(
        f"# {' and '.join(unset)}: unset, read from $BIZSQL_DATA_DIR/instance-secret"
        if unset
        else "# BIZSQL_JWT_SECRET and BIZSQL_ROLE_SECRET: set in this environment; keep them set"
    )
    return lines
