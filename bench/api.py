"""The API's own overhead per chat turn, under load, on a real `bizsql serve` process.

    BIZSQL_ROLE_SECRET=... python bench/api.py [--turns-1 200] [--turns-32 640] [--workers 2]

Starts a Valkey of its own, the stub Mistral server (it answers at once) and `bizsql serve` on the
PostgreSQL of BIZSQL_POSTGRES_URL (embedded when unset) and a MongoDB (BIZSQL_MONGO_URL, embedded when
unset, database ``bizsql_bench``). BIZSQL_ROLE_SECRET must be the secret the demo databases were seeded
with (the seed step sets the demo roles' passwords from it).

Every turn asks a verified question, so the graph runs its real path (context, verified match, guard,
executor on acme_retail, checkpoints to Redis and MongoDB) with no LLM call. The server's overhead per
turn is its ``Server-Timing`` ``app`` time minus its ``graph`` time: auth, rate limit, isolation, thread
binding, validation and serialisation. Then it checks the limits: one user's 35 simultaneous turns must
get exactly 30 answers and 5 429s, and a sixth quick login exactly one 429.

With ``--workers N`` (N > 1) it runs everything twice, on `bizsql serve --workers 1` and then on
`bizsql serve --workers N` (same stores, new users), and compares throughput and latency at concurrency 32;
the limit checks then also show that N processes share one window.

With ``--baseline DIR`` (a checkout of earlier code, e.g. ``git worktree add /tmp/base <commit>``) it
instead compares one-step turns on that code and on this one, served side by side on the same stores and
asked turn by turn: a verified turn (no LLM) and a generated one (classify, SQL, summary: the stub
answers at once), at concurrency 1, new thread each. The ratio of the p50s is the cost of what changed,
apart from the LLM.

The bench raises only the per-IP login limit (all bench users log in from 127.0.0.1); chat limits stay at
their defaults, so each phase spreads its turns over enough users of its own to stay under 30 a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import AsyncExitStack, ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from pymongo import MongoClient
from pymongo.collection import Collection
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bizsql.auth.passwords import hash_password
from bizsql.config import Settings
from bizsql.demo import get_demo_business
from bizsql.demo.seed import seed_all
from bizsql.embedded import ValkeyServer, embedded_servers
from bizsql.stores.mongo import USERS
from tests.integration.api.live import LiveServer, live_server, server_env
from tests.support.stub_mistral import Reply, StubMistral, text, tool, tool_names

console = Console(width=160)
PASSWORD = "bench-pass-123"
USERS_PER_RUN = 64
CHAT_LIMIT = 30


@dataclass
class Phase:
    name: str
    concurrency: int
    statuses: Counter[int] = field(default_factory=Counter)
    overhead_ms: list[float] = field(default_factory=list)
    graph_ms: list[float] = field(default_factory=list)
    client_ms: list[float] = field(default_factory=list)
    transport_errors: int = 0
    seconds: float = 0.0


@dataclass
class Run:
    """Every phase against one server, and how many chat turns each of its processes answered."""

    workers: int
    phases: list[Phase]
    limit_phase: Phase
    login_statuses: list[int]
    answered_by: Counter[int] = field(default_factory=Counter)

    def at(self, concurrency: int) -> Phase:
        return next(phase for phase in self.phases if phase.concurrency == concurrency)


def percentile(values: list[float], q: int) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def server_timing(header: str) -> dict[str, float]:
    parts = {}
    for item in header.split(","):
        name, _, duration = item.strip().partition(";dur=")
        if duration:
            parts[name] = float(duration)
    return parts


async def one_turn(http: httpx.AsyncClient, headers: dict[str, str], question: str, phase: Phase) -> None:
    started = time.perf_counter()
    try:
        response = await http.post("/chat", json={"message": question}, headers=headers)
    except httpx.HTTPError:
        phase.transport_errors += 1
        return
    phase.client_ms.append((time.perf_counter() - started) * 1000)
    phase.statuses[response.status_code] += 1
    timing = server_timing(response.headers.get("server-timing", ""))
    if response.status_code == 200 and "graph" in timing:
        phase.overhead_ms.append(timing["app"] - timing["graph"])
        phase.graph_ms.append(timing["graph"])


async def run_phase(
    http: httpx.AsyncClient, tokens: list[dict[str, str]], question: str, phase: Phase, turns: int
) -> Phase:
    """``turns`` turns with ``phase.concurrency`` in flight, turn i as user i mod len(tokens)."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(turns):
        queue.put_nowait(i)

    async def worker() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            await one_turn(http, tokens[i % len(tokens)], question, phase)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(phase.concurrency)))
    phase.seconds = time.perf_counter() - started
    return phase


async def login(http: httpx.AsyncClient, username: str, password: str = PASSWORD) -> httpx.Response:
    return await http.post("/auth/login", json={"username": username, "password": password})


async def bench(server: LiveServer, users: list[str], args: argparse.Namespace, workers: int) -> Run:
    """Each phase has users of its own, so no phase inherits another's rate-limit window."""
    question = get_demo_business("acme_retail").verified_queries[1].question
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=server.url, timeout=120, limits=limits) as http:
        pool = iter(users)
        groups = [
            [next(pool) for _ in range(turns // CHAT_LIMIT + 1)]
            for turns in (20, args.turns_1, args.turns_32)
        ]
        tokens = [[await token(http, user) for user in group] for group in groups]
        await run_phase(http, tokens[0], question, Phase("warm-up", 4), 20)
        phases = [
            await run_phase(http, tokens[1], question, Phase("concurrency 1", 1), args.turns_1),
            await run_phase(http, tokens[2], question, Phase("concurrency 32", 32), args.turns_32),
        ]
        limit_phase = await limits_phase(http, next(pool), question)
        guessed = next(pool)
        login_statuses = [(await login(http, guessed, "wrong-password")).status_code for _ in range(6)]
    return Run(workers, phases, limit_phase, login_statuses)


async def token(http: httpx.AsyncClient, user: str) -> dict[str, str]:
    response = await login(http, user)
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def limits_phase(http: httpx.AsyncClient, user: str, question: str) -> Phase:
    """One fresh user sends 35 turns at once: the chat limit must let exactly 30 through."""
    phase = Phase("35 turns at once, one user", 35)
    headers = await token(http, user)
    started = time.perf_counter()
    await asyncio.gather(*(one_turn(http, headers, question, phase) for _ in range(35)))
    phase.seconds = time.perf_counter() - started
    return phase


def report(run: Run) -> None:
    phases, limit_phase, login_statuses = run.phases, run.limit_phase, run.login_statuses
    table = Table(
        title=f"bizsql API, {run.workers} worker(s): one verified chat turn (new thread each), "
        "server overhead = app - graph"
    )
    for column in ("phase", "turns", "turns/s", "overhead p50", "overhead p99", "graph p50", "client p50",
                   "client p99", "statuses", "5xx", "transport errors"):  # fmt: skip
        table.add_column(column, justify="right")
    for phase in [*phases, limit_phase]:
        turns = sum(phase.statuses.values())
        server_errors = sum(n for status, n in phase.statuses.items() if status >= 500)
        table.add_row(
            phase.name, str(turns), f"{turns / phase.seconds:.0f}",
            f"{percentile(phase.overhead_ms, 50):.2f} ms", f"{percentile(phase.overhead_ms, 99):.2f} ms",
            f"{percentile(phase.graph_ms, 50):.1f} ms", f"{percentile(phase.client_ms, 50):.1f} ms",
            f"{percentile(phase.client_ms, 99):.1f} ms",
            " ".join(f"{s}x{n}" for s, n in sorted(phase.statuses.items())), str(server_errors),
            str(phase.transport_errors),
        )  # fmt: skip
    console.print(table)
    expected = Counter({200: CHAT_LIMIT, 429: 35 - CHAT_LIMIT})
    verdict = "as the limit says" if limit_phase.statuses == expected else f"EXPECTED {dict(expected)}"
    console.print(f"chat limit ({CHAT_LIMIT}/min per user), 35 simultaneous turns: "
                  f"{dict(limit_phase.statuses)} - {verdict}")  # fmt: skip
    login_ok = login_statuses == [401] * 5 + [429]
    console.print(f"6 quick logins with a wrong password: {login_statuses} - "
                  f"{'as the limit says' if login_ok else 'EXPECTED [401 x5, 429]'}")  # fmt: skip
    if run.workers > 1:
        console.print(f"chat turns answered per worker pid: {dict(run.answered_by)}")


def compare(runs: list[Run], concurrency: int = 32) -> None:
    """Throughput and latency at ``concurrency`` for each server, and the last one's over the first's."""
    table = Table(title=f"concurrency {concurrency}: 1 worker against {runs[-1].workers}")
    for column in ("workers", "turns", "turns/s", "200/s", "client p50", "client p99", "overhead p50",
                   "statuses"):  # fmt: skip
        table.add_column(column, justify="right")
    for run in runs:
        phase = run.at(concurrency)
        table.add_row(
            str(run.workers), str(sum(phase.statuses.values())), f"{throughput(phase):.1f}",
            f"{phase.statuses[200] / phase.seconds:.1f}", f"{percentile(phase.client_ms, 50):.1f} ms",
            f"{percentile(phase.client_ms, 99):.1f} ms", f"{percentile(phase.overhead_ms, 50):.2f} ms",
            " ".join(f"{s}x{n}" for s, n in sorted(phase.statuses.items())),
        )  # fmt: skip
    console.print(table)
    one, many = runs[0].at(concurrency), runs[-1].at(concurrency)
    console.print(
        f"{runs[-1].workers} workers / 1 worker at concurrency {concurrency}: "
        f"throughput x{throughput(many) / throughput(one):.2f}, "
        f"client p50 x{percentile(many.client_ms, 50) / percentile(one.client_ms, 50):.2f}, "
        f"client p99 x{percentile(many.client_ms, 99) / percentile(one.client_ms, 99):.2f}"
    )


def throughput(phase: Phase) -> float:
    """Turns answered per second, whatever the status."""
    return sum(phase.statuses.values()) / phase.seconds


@contextmanager
def stores(tmp: Path) -> Iterator[Settings]:
    """PostgreSQL and MongoDB from the environment (embedded when unset), always a fresh Valkey."""
    with ExitStack() as stack:
        valkey = ValkeyServer("valkey-bench", tmp / "valkey")
        redis_url = valkey.start()
        stack.callback(valkey.stop)
        base = Settings(
            data_dir=tmp / "data",
            mongo_db="bizsql_bench",
            redis_url=redis_url,
            jwt_secret=SecretStr(secrets.token_urlsafe(48)),
        )
        resolved = stack.enter_context(embedded_servers(base))
        seed_all(resolved, show_progress=False)
        yield resolved


@contextmanager
def bench_users(settings: Settings, count: int) -> Iterator[list[str]]:
    run = secrets.token_hex(3)
    names = [f"bench_{run}_{i}" for i in range(count)]
    hashed = hash_password(PASSWORD)
    now = datetime.now(UTC)
    client: MongoClient[dict[str, Any]]
    with MongoClient(settings.mongo_url) as client:
        users: Collection[dict[str, Any]] = client[settings.mongo_db][USERS]
        users.insert_many([{"username": n, "role": "analyst", "business_id": "acme_retail",
                            "password_hash": hashed, "created_at": now} for n in names])  # fmt: skip
        try:
            yield names
        finally:
            users.delete_many({"username": {"$in": names}})


def serve_and_bench(
    settings: Settings, folder: Path, stub: StubMistral, workers: int, args: argparse.Namespace
) -> Run:
    """One `bizsql serve --workers N` on the shared stores, with bench users of its own."""
    env = server_env(
        settings, folder / "server-data",
        MISTRAL_API_KEY="stub-key", MISTRAL_BASE_URL=stub.url,
        BIZSQL_LOGIN_RATE_PER_MINUTE_IP="100000",
    )  # fmt: skip
    log_file = folder / f"server-{workers}.log"
    with (
        bench_users(settings, USERS_PER_RUN) as users,
        live_server(env, log_file, "--workers", str(workers)) as server,
    ):
        run = asyncio.run(bench(server, users, args, workers))
        lines = server.log_lines()
    run.answered_by.update(
        line["process"] for line in lines if line["event"] == "request" and line.get("route") == "/chat"
    )
    return run


GENERATED_QUESTION = "How many suppliers are there in each country?"
GENERATED_SQL = "SELECT country, count(*) AS suppliers FROM suppliers GROUP BY country ORDER BY 2 DESC"


def instant_llm(request: dict[str, Any]) -> Reply:
    """A one-step turn's three LLM calls, answered by what each asks for (no plan is ever needed)."""
    offered = tool_names(request)
    if "Classification" in offered:
        return tool("Classification", intent="database", standalone_question=GENERATED_QUESTION,
                    clarifying_question="", needs_plan=False)  # fmt: skip
    if "SqlDraft" in offered:
        return tool("SqlDraft", sql=GENERATED_SQL, confidence=0.9, explanation="suppliers per country")
    return text("Most suppliers are in China.")


async def paired_turns(
    servers: dict[str, LiveServer], users: dict[str, list[str]], turns: int, stub: StubMistral
) -> dict[tuple[str, str], Phase]:
    """``turns`` verified and ``turns`` generated one-step turns on each server, at concurrency 1, the
    servers taking turns one by one: both meet the same moment's noise, which on two shared cores is
    larger than the difference sought."""
    verified = get_demo_business("acme_retail").verified_queries[1].question
    measured: dict[tuple[str, str], Phase] = {}
    async with AsyncExitStack() as stack:
        http = {
            label: await stack.enter_async_context(httpx.AsyncClient(base_url=server.url, timeout=120))
            for label, server in servers.items()
        }
        for name, question in (("verified", verified), ("generated", GENERATED_QUESTION)):
            tokens = {}
            for label in servers:
                pool = iter(users[label][name == "generated" :: 2])
                tokens[label] = [await token(http[label], next(pool)) for _ in range(turns // CHAT_LIMIT + 1)]
            if question == GENERATED_QUESTION:
                stub.script(*[instant_llm] * (3 * (turns + 5) * len(servers)))
            for label in servers:  # a warm-up each: the first turns load the index and fill the pools
                await run_phase(http[label], tokens[label], question, Phase("warm-up", 1), 5)
            for label in servers:
                measured[(label, name)] = Phase(name, 1)
            for i in range(turns):
                for label in servers if i % 2 == 0 else reversed(list(servers)):
                    headers = tokens[label][i % len(tokens[label])]
                    await one_turn(http[label], headers, question, measured[(label, name)])
    return measured


def before_and_after(settings: Settings, folder: Path, stub: StubMistral, args: argparse.Namespace) -> None:
    """The baseline code and this code served side by side on the same stores, asked turn by turn."""
    code = {"before": str(Path(args.baseline).resolve()), "after": None}
    with ExitStack() as stack:
        servers, users = {}, {}
        for label, source in code.items():
            env = server_env(
                settings, folder / f"server-data-{label}",
                MISTRAL_API_KEY="stub-key", MISTRAL_BASE_URL=stub.url,
                BIZSQL_LOGIN_RATE_PER_MINUTE_IP="100000",
            )  # fmt: skip
            if source:
                env["PYTHONPATH"] = source  # its bizsql package comes before the installed one
            users[label] = stack.enter_context(bench_users(settings, USERS_PER_RUN))
            servers[label] = stack.enter_context(live_server(env, folder / f"server-{label}.log"))
        turns = asyncio.run(paired_turns(servers, users, args.turns_1, stub))
    table = Table(title=f"one-step turns at concurrency 1, the two servers asked in turn: "
                        f"before = {args.baseline}, after = this checkout")  # fmt: skip
    for column in ("turn", "code", "turns", "statuses", "client p50", "graph p50", "overhead p50"):
        table.add_column(column, justify="right")
    for (label, name), phase in sorted(turns.items(), key=lambda item: (item[0][1], item[0][0] != "before")):
        table.add_row(
            name, label, str(len(phase.client_ms)),
            " ".join(f"{s}x{n}" for s, n in sorted(phase.statuses.items())),
            f"{percentile(phase.client_ms, 50):.1f} ms", f"{percentile(phase.graph_ms, 50):.1f} ms",
            f"{percentile(phase.overhead_ms, 50):.2f} ms",
        )  # fmt: skip
    console.print(table)
    for name in ("verified", "generated"):
        before, after = turns[("before", name)], turns[("after", name)]
        console.print(
            f"{name} turn, after / before: client p50 x"
            f"{percentile(after.client_ms, 50) / percentile(before.client_ms, 50):.3f}, graph p50 x"
            f"{percentile(after.graph_ms, 50) / percentile(before.graph_ms, 50):.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns-1", type=int, default=200, help="turns at concurrency 1")
    parser.add_argument("--turns-32", type=int, default=640, help="turns at concurrency 32")
    parser.add_argument(
        "--workers", type=int, default=1, help="above 1: also run on this many workers and compare"
    )
    parser.add_argument(
        "--baseline", help="a checkout of earlier code: compare one-step turns on it and on this code"
    )
    args = parser.parse_args()
    if args.workers < 1:
        parser.error("--workers must be 1 or more")
    if args.baseline and not (Path(args.baseline) / "bizsql" / "graph").is_dir():
        parser.error(f"--baseline {args.baseline}: no bizsql/graph there (a checkout of this repository?)")
    with tempfile.TemporaryDirectory(prefix="bizsql-bench-") as folder, stores(Path(folder)) as settings:
        stub = StubMistral().start()
        runs: list[Run] = []
        if args.baseline:
            try:
                before_and_after(settings, Path(folder), stub, args)
            finally:
                stub.stop()
            return
        try:
            for workers in sorted({1, args.workers}):
                runs.append(serve_and_bench(settings, Path(folder), stub, workers, args))
                report(runs[-1])
        finally:
            stub.stop()
        if len(runs) > 1:
            compare(runs)
        console.print(f"LLM requests during the run: {len(stub.requests)} (verified questions need none)")


if __name__ == "__main__":
    main()
