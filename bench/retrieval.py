"""Schema retrieval, measured: recall@5 on the demo businesses, and search latency over 10,000 tables.

    python bench/retrieval.py [--tables 10000] [--searches 2000] [--skip-latency]

Recall: every verified question of the three demo businesses (the tables it needs are read from its SQL)
plus the labelled questions in tests/retrieval_questions.yaml. A question counts as recalled when all its
tables are in the top 5. Uses the configured servers (BIZSQL_*), or starts embedded ones, and seeds the
demo data when it is missing.

Latency: a synthetic schema of N tables in one FAISS index; p50/p99 of one search (top 5 plus join
tables and keyword signals), the question's embedding excluded and reported apart. Embedding 10,000
tables takes minutes on two cores, so the index is kept under --cache and loaded on later runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlglot
import yaml
from rich.console import Console
from rich.table import Table
from sqlglot import exp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bizsql.config import Settings, get_settings
from bizsql.retrieval.embeddings import get_embeddings
from bizsql.retrieval.index import SchemaIndex
from bizsql.retrieval.table_docs import ColumnDoc, ForeignKeyDoc, TableDoc
from bizsql.stores.business import BusinessConfig

QUESTIONS = Path(__file__).resolve().parents[1] / "tests" / "retrieval_questions.yaml"
console = Console()


def needed_tables(sql: str) -> set[str]:
    """Tables a SQL statement reads (CTE names excluded)."""
    tree = sqlglot.parse_one(sql, read="postgres")
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    return {t.name for t in tree.find_all(exp.Table) if t.name and t.name not in ctes}


def labelled(configs: Sequence[BusinessConfig]) -> list[tuple[str, str, set[str], str]]:
    """(business, question, tables needed, kind) for verified and labelled questions."""
    extra = yaml.safe_load(QUESTIONS.read_text())
    cases = []
    for config in configs:
        for q in config.verified_queries:
            cases.append((config.business_id, q.question, needed_tables(q.sql), "verified"))
        for item in extra.get(config.business_id, []):
            cases.append((config.business_id, item["question"], set(item["tables"]), "labelled"))
    return cases


async def recall(settings: Settings, configs: Sequence[BusinessConfig], k: int) -> list[dict[str, Any]]:
    from bizsql.retrieval.source import PgSchemaSource

    index = SchemaIndex(settings, PgSchemaSource(settings))
    rows = []
    for business_id, question, tables, kind in labelled(configs):
        config = next(c for c in configs if c.business_id == business_id)
        found = await index.retrieve(config, question, k=k)
        top = set(found.names[:k])
        rows.append({
            "business": business_id, "kind": kind, "question": question, "needed": tables,
            "hit": tables <= top, "hit_with_joins": tables <= set(found.names),
            "missing": sorted(tables - top), "tables_found": len(tables & top) / len(tables),
        })  # fmt: skip
    return rows


def report_recall(rows: list[dict[str, Any]], k: int) -> None:
    table = Table("business", "kind", "questions", f"recall@{k}", "with join tables", "table recall",
                  title=f"Schema retrieval: all needed tables in the top {k}")  # fmt: skip
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["business"], row["kind"]), []).append(row)
        groups.setdefault(("all", "all"), []).append(row)
    for (business, kind), items in sorted(groups.items(), key=lambda kv: kv[0] == ("all", "all")):
        table.add_row(
            business, kind, str(len(items)),
            f"{sum(r['hit'] for r in items) / len(items):.3f}",
            f"{sum(r['hit_with_joins'] for r in items) / len(items):.3f}",
            f"{statistics.mean(r['tables_found'] for r in items):.3f}",
        )  # fmt: skip
    console.print(table)
    for row in rows:
        if not row["hit"]:
            console.print(f"[yellow]miss[/] {row['business']}: {row['question']!r} lacks {row['missing']}")


WORDS = (
    "account", "invoice", "payment", "order", "shipment", "customer", "supplier", "product", "warehouse",
    "route", "vehicle", "driver", "employee", "store", "campaign", "lead", "ticket", "contract", "asset",
    "budget", "forecast", "claim", "policy", "patient", "visit", "device", "sensor", "reading", "batch",
    "lot",
    "recipe", "menu", "booking", "room", "guest", "course", "student", "grade", "exam", "loan",
)  # fmt: skip
COLUMN_WORDS = (
    "id", "name", "code", "status", "amount", "total", "price", "cost", "quantity", "created_at",
    "updated_at", "date", "type", "region",
)  # fmt: skip


def synthetic_tables(n: int, rng: random.Random) -> list[TableDoc]:
    """N plausible tables: two-word names, typed columns, comments and foreign keys to earlier tables."""
    tables: list[TableDoc] = []
    for i in range(n):
        a, b = rng.sample(WORDS, 2)
        name = f"{a}_{b}_{i}"
        columns = [ColumnDoc("id", "integer", "primary key")]
        types = ("text", "numeric", "date", "integer")
        columns += [ColumnDoc(f"{w}_{j}", rng.choice(types), f"{w} of the {b}")
                    for j, w in enumerate(rng.sample(COLUMN_WORDS, 6))]  # fmt: skip
        fks: tuple[ForeignKeyDoc, ...] = ()
        if i:
            ref = tables[rng.randrange(len(tables))].name
            columns.append(ColumnDoc(f"{ref}_id", "integer"))
            fks = (ForeignKeyDoc((f"{ref}_id",), ref, ("id",)),)
        tables.append(TableDoc(name, tuple(columns), f"{b.title()} records of the {a} domain", ("id",), fks))
    return tables


class _Fixed:
    def __init__(self, tables: list[TableDoc]) -> None:
        self.tables = tables

    async def fingerprint(self, business: BusinessConfig) -> str:
        return f"synthetic-{len(self.tables)}"

    async def describe(self, business: BusinessConfig) -> list[TableDoc]:
        return self.tables


def pct(values: Sequence[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


async def latency(n: int, searches: int, k: int, cache: Path) -> None:
    """Build (or load, from ``cache``) an index of ``n`` synthetic tables, then time searches alone."""
    rng = random.Random(7)
    tables = synthetic_tables(n, rng)
    business = BusinessConfig.model_validate(
        {"business_id": f"synthetic_{n}", "name": "Synthetic", "database": {"name": "x", "reader_role": "x"}}
    )
    settings = Settings(data_dir=cache)
    index = SchemaIndex(settings, _Fixed(tables))
    started = time.perf_counter()
    built = await index.ensure(business)
    build_s = time.perf_counter() - started
    questions = [f"total {rng.choice(COLUMN_WORDS)} of {rng.choice(WORDS)} by {rng.choice(WORDS)}"
                 for _ in range(200)]  # fmt: skip
    embeddings = get_embeddings()
    embed_ms, vectors = [], []
    for q in questions:
        t0 = time.perf_counter()
        vectors.append(embeddings.embed_query(q))
        embed_ms.append((time.perf_counter() - t0) * 1000)
    search_ms, cpu_ms = [], []
    for i in range(200 + searches):
        vector, question = vectors[i % len(vectors)], questions[i % len(questions)]
        t0, c0 = time.perf_counter(), time.thread_time()
        names = [name for name, _ in built.search(vector, k, question)]
        built.bridges(names, settings.retrieval_bridge_tables)
        if i >= 200:  # the first 200 warm caches up
            search_ms.append((time.perf_counter() - t0) * 1000)
            cpu_ms.append((time.thread_time() - c0) * 1000)
    how = "loaded from disk" if index.stats()[business.business_id]["rebuilds"] == 0 else "built"
    table = Table("measure", "p50 ms", "p95 ms", "p99 ms", "samples",
                  title=f"Search over {n:,} tables (index {how} in {build_s:.1f} s)")  # fmt: skip
    table.add_row("search: top 5 + join tables (no embedding)", f"{pct(search_ms, 50):.3f}",
                  f"{pct(search_ms, 95):.3f}", f"{pct(search_ms, 99):.3f}", str(len(search_ms)))  # fmt: skip
    table.add_row("same, CPU time of the thread (no preemption)", f"{pct(cpu_ms, 50):.3f}",
                  f"{pct(cpu_ms, 95):.3f}", f"{pct(cpu_ms, 99):.3f}", str(len(cpu_ms)))  # fmt: skip
    table.add_row("question embedding (apart)", f"{pct(embed_ms, 50):.2f}", f"{pct(embed_ms, 95):.2f}",
                  f"{pct(embed_ms, 99):.2f}", str(len(embed_ms)))  # fmt: skip
    console.print(table)
    console.print(f"[dim]load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores[/]")


def demo_configs(settings: Settings) -> list[BusinessConfig]:
    from bizsql.demo import DEMO_BUSINESSES
    from bizsql.stores.business import load_business_config
    from bizsql.stores.mongo import mongo_client

    assert settings.mongo_url
    with mongo_client(settings.mongo_url) as client:
        db = client[settings.mongo_db]
        return [load_business_config(db, b.business_id) for b in DEMO_BUSINESSES]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tables", type=int, default=10_000)
    parser.add_argument("--searches", type=int, default=10_000)
    parser.add_argument(
        "--cache", type=Path, default=Path(".bizsql/bench-retrieval"),
        help="where the synthetic index is kept, so only the first run pays for embedding it",
    )  # fmt: skip
    parser.add_argument("-k", type=int, default=5)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-recall", action="store_true")
    args = parser.parse_args()
    get_embeddings()
    if not args.skip_recall:
        from bizsql.demo.seed import seed_all
        from bizsql.embedded import embedded_servers

        with embedded_servers(get_settings()) as settings:
            seed_all(settings, show_progress=False)
            rows = asyncio.run(recall(settings, demo_configs(settings), args.k))
        report_recall(rows, args.k)
    if not args.skip_latency:
        asyncio.run(latency(args.tables, args.searches, args.k, args.cache))


if __name__ == "__main__":
    main()
