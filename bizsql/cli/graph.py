"""`bizsql ask` (one graph turn from the terminal) and `bizsql index` (rebuild schema indexes by hand).

A generated write that waits for approval is put to the user on a terminal ("Run this write? [y/N]");
without one, it stays pending in the thread and the command says how to approve it.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Annotated, Any

import typer
from langgraph.types import Command
from rich.console import Console
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table

from bizsql.auth.identity import Identity
from bizsql.config import Settings, get_settings
from bizsql.embedded import EmbeddedUnavailable, embedded_servers
from bizsql.errors import BizsqlError
from bizsql.graph.approval import PendingWrite, pending_answer, pending_in
from bizsql.log import configure_logging
from bizsql.stores.business import BusinessConfig
from bizsql.stores.mongo import BUSINESS_CONFIGS, USERS, mongo_client

console = Console()
err = Console(stderr=True)
ROWS_SHOWN = 20


def _identity(settings: Settings, username: str) -> Identity:
    assert settings.mongo_url
    with mongo_client(settings.mongo_url) as client:
        user = client[settings.mongo_db][USERS].find_one({"username": username})
    if user is None:
        raise typer.BadParameter(f"no user {username!r} (the demo users are admin, alice, bob, carol, dave)")
    return Identity(username=username, role=user["role"], business_id=user["business_id"])


async def _checkpointer(settings: Settings, stack: AsyncExitStack) -> Any:
    """The Redis+MongoDB saver, so `--thread` continues a conversation across runs."""
    from bizsql.checkpointers import AsyncRedisMongoSaver

    saver = AsyncRedisMongoSaver.from_settings(settings)
    await saver.asetup()
    return await stack.enter_async_context(saver)


Confirm = Callable[[PendingWrite], bool]


async def _ask(
    settings: Settings, business: str, who: Identity, thread: str, question: str, confirm: Confirm | None
) -> Any:
    """The turn's final state; a write that waits for approval is put to ``confirm`` (a terminal's
    "Run this write?"), or left waiting when there is none."""
    from bizsql.graph.builder import build_graph
    from bizsql.graph.clients import build_deps
    from bizsql.graph.run import Turn, invoke_turn

    async with AsyncExitStack() as stack:
        graph = build_graph(await _checkpointer(settings, stack))
        deps = build_deps(settings)
        stack.push_async_callback(deps.aclose)
        turn = Turn(who, business, thread, question)
        out = await invoke_turn(graph, deps, turn)
        pending = pending_in(out.get("__interrupt__") or ())
        if pending is None or confirm is None:
            return out
        decision = "approve" if confirm(pending) else "reject"
        resume: Command[Any] = Command(resume={"approval_id": pending["approval_id"], "decision": decision})
        return dict(await graph.ainvoke(resume, turn.config(), context=turn.context(deps)))


def _show_pending(pending: PendingWrite) -> None:
    console.print(Panel(pending_answer(pending), title="[bold]approval_required[/]"))
    console.print(Syntax(pending["sql"], "sql", word_wrap=True))
    if pending["columns"]:
        table = Table(*pending["columns"], title=f"{pending['rows_affected']} row(s) would change")
        for row in pending["rows"]:
            table.add_row(*("" if v is None else str(v) for v in row))
        console.print(table)


def confirm_on_terminal(pending: PendingWrite) -> bool:
    _show_pending(pending)
    return typer.confirm("Run this write?", default=False)


def _waiting(pending: PendingWrite, thread: str) -> None:
    """No terminal to ask on: the write stays pending in the thread, and this says how to decide it."""
    _show_pending(pending)
    body = json.dumps({"thread_id": thread, "approval_id": pending["approval_id"], "decision": "approve"})
    err.print(
        f"The write waits for approval by {pending['asked_by']} or an admin: run this on a terminal, or "
        f"POST /chat/approve {body} (decision approve or reject)."
    )


def source_label(out: dict[str, Any]) -> str:
    """What answered: the SQL's source (``verified`` or ``llm``) as the API's ``source`` says, else ``llm``
    for an answer the LLM wrote without SQL, else ``none`` (no LLM, a spent budget, a refusal before SQL).
    The state's ``source`` alone is no answer: a turn starts with ``llm`` whatever happens next."""
    if out.get("sql"):
        return str(out.get("source") or "llm")
    return "llm" if (out.get("usage") or {}).get("calls") else "none"


def _print_turn(out: dict[str, Any], thread: str, seconds: float) -> None:
    console.print(Panel(out.get("answer") or "(no answer)", title=f"[bold]{out.get('intent', '')}[/]"))
    if out.get("sql"):
        console.print(Syntax(out["sql"], "sql", word_wrap=True))
    result = out.get("result")
    if result:
        table = Table(*result["columns"], title=f"{result['row_count']} row(s)"
                      + (" (truncated)" if result["truncated"] else ""))  # fmt: skip
        for row in result["rows"][:ROWS_SHOWN]:
            table.add_row(*("" if v is None else str(v) for v in row))
        console.print(table)
        if result["row_count"] > ROWS_SHOWN:
            console.print(f"[dim]... {result['row_count'] - ROWS_SHOWN} more row(s)[/]")
    usage = out.get("usage") or {}
    err.print(
        f"[dim]source={source_label(out)} confidence={out.get('confidence', 0):.2f} "
        f"chart={'yes' if out.get('chart') else 'no'} llm_calls={usage.get('calls', 0)} "
        f"tokens={usage.get('input_tokens', 0)}+{usage.get('output_tokens', 0)} "
        f"time={seconds:.2f}s thread={thread}[/]"
    )


def ask(
    question: Annotated[str, typer.Argument(help="The question, in plain language.")],
    business: Annotated[str, typer.Option("--business", "-b", help="Business id, e.g. acme_retail.")],
    user: Annotated[
        str, typer.Option("--as", help="Ask as this user (role and access from MongoDB).")
    ] = "admin",
    thread: Annotated[str | None, typer.Option(help="Continue this conversation thread.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole turn as JSON.")] = False,
) -> None:
    """Run one chat turn through the graph and print the answer, the SQL and the rows."""
    settings = get_settings()
    configure_logging(settings.log_level)
    thread = thread or uuid.uuid4().hex
    try:
        with embedded_servers(settings) as resolved:
            who = _identity(resolved, user)
            started = time.monotonic()
            confirm = confirm_on_terminal if sys.stdin.isatty() and not as_json else None
            out = asyncio.run(_ask(resolved, business, who, thread, question, confirm))
    except (EmbeddedUnavailable, BizsqlError) as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    pending = pending_in(out.get("__interrupt__") or ())
    if pending is not None and not as_json:
        _waiting(pending, thread)
        return
    if as_json:
        shown = {k: v for k, v in out.items() if k != "messages"} | {"thread_id": thread}
        typer.echo(json.dumps(shown, default=str))
        return
    _print_turn(out, thread, time.monotonic() - started)


async def _rebuild(
    settings: Settings, configs: list[BusinessConfig]
) -> list[tuple[BusinessConfig, Any, float]]:
    from bizsql.retrieval.index import SchemaIndex
    from bizsql.retrieval.source import PgSchemaSource

    index = SchemaIndex(settings, PgSchemaSource(settings))
    done = []
    for config in configs:
        started = time.monotonic()
        built = await index.rebuild(config)
        done.append((config, built, time.monotonic() - started))
    return done


def index(
    business: Annotated[str | None, typer.Option("--business", "-b", help="Only this business.")] = None,
) -> None:
    """Rebuild the schema search indexes from the databases (they also rebuild by themselves on change)."""
    settings = get_settings()
    configure_logging(settings.log_level)
    try:
        with embedded_servers(settings) as resolved:
            assert resolved.mongo_url
            query = {"business_id": business} if business else {}
            with mongo_client(resolved.mongo_url) as client:
                docs = list(client[resolved.mongo_db][BUSINESS_CONFIGS].find(query))
            if not docs:
                err.print(f"[red]error:[/] no business config {'for ' + business if business else 'at all'}")
                raise typer.Exit(2)
            done = asyncio.run(_rebuild(resolved, [BusinessConfig.from_document(d) for d in docs]))
    except (EmbeddedUnavailable, BizsqlError) as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    table = Table("business", "tables", "fingerprint", "seconds", "path", title="schema indexes rebuilt")
    for config, built, seconds in done:
        table.add_row(config.business_id, str(len(built.tables)), built.fingerprint[:12], f"{seconds:.2f}",
                      str(built.path))  # fmt: skip
    console.print(table)
