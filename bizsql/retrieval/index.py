"""A FAISS index of table descriptions per business, rebuilt by itself when the schema changes.

Index files live under ``<data_dir>/indexes/<business>/<fingerprint>/``. The fingerprint is a hash of the
business's columns, types, comments and foreign keys, read cheaply (and cached for a few seconds), so a new
column or table rebuilds the index on the next question. ``FAISS.load_local`` unpickles: we only ever load a
folder we wrote ourselves, whose name is the fingerprint and whose ``meta.json`` we check first.

Verified queries get a small in-memory similarity index of their own (a matrix of their question vectors).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import faiss
import numpy as np
import structlog
from langchain_community.vectorstores import FAISS
from langchain_community.vectorstores.utils import DistanceStrategy
from langchain_core.embeddings import Embeddings

from bizsql.config import Settings
from bizsql.retrieval.business_index import BusinessIndex
from bizsql.retrieval.embeddings import MODEL_NAME, get_embeddings
from bizsql.retrieval.focus import asked_columns, detailed_tables, kept_tables, relevant_terms
from bizsql.retrieval.stats import SearchStats, folder_size
from bizsql.retrieval.table_docs import TableDoc, detail_text, glossary_terms, summary_text, term_tables
from bizsql.stores.business import BusinessConfig, VerifiedQuery

log = structlog.get_logger(__name__)

faiss.omp_set_num_threads(1)
"""One search is one query vector: OpenMP threads only add jitter (p99 over 10,000 tables: 32 ms with 2
threads, 0.4 ms with 1, measured), and concurrent requests already use the cores."""

INDEX_FORMAT = 2
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]")


class SchemaSource(Protocol):
    """Where table descriptions come from (the business database, or a fixture in tests)."""

    async def fingerprint(self, business: BusinessConfig) -> str: ...

    async def describe(self, business: BusinessConfig) -> list[TableDoc]: ...


@dataclass(frozen=True)
class VerifiedMatch:
    question: str
    sql: str
    score: float


@dataclass(frozen=True)
class Retrieval:
    """The tables for one question: the top k by similarity, then tables that join them; which of them
    the prompt shows in full, and the glossary terms that matter."""

    tables: list[TableDoc]
    scores: dict[str, float]
    bridges: list[str]
    detailed: list[str]
    asked_columns: dict[str, list[str]]
    """Per table shown in brief, the columns the question names or whose values it uses."""
    terms: list[str]
    fingerprint: str
    embed_ms: float
    search_ms: float

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.tables]


class SchemaIndex:
    """Per-business FAISS indexes keyed by schema fingerprint, plus the verified-query index and stats."""

    def __init__(
        self,
        settings: Settings,
        source: SchemaSource,
        *,
        embeddings: Callable[[], Embeddings] = get_embeddings,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.source = source
        self._embeddings = embeddings
        self._clock = clock
        self._indexes: dict[str, BusinessIndex] = {}
        self._checked: dict[str, tuple[str, float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._stats: dict[str, SearchStats] = {}
        self._verified: dict[str, tuple[str, list[VerifiedQuery], np.ndarray]] = {}
        self._vectors: dict[str, list[float]] = {}

    @property
    def root(self) -> Path:
        return self.settings.data_dir / "indexes"

    # --- embedding -------------------------------------------------------------------------------
    async def embed(self, text: str) -> list[float]:
        """The question's vector (cached, since one turn may embed the same text twice)."""
        if (hit := self._vectors.get(text)) is not None:
            return hit
        vector = await asyncio.to_thread(self._embeddings().embed_query, text)
        if len(self._vectors) >= 256:
            self._vectors.pop(next(iter(self._vectors)))
        self._vectors[text] = vector
        return vector

    # --- the index -------------------------------------------------------------------------------
    async def ensure(self, business: BusinessConfig) -> BusinessIndex:
        """The index for the business's current schema: cached, loaded from disk, or built now."""
        bid = business.business_id
        now = self._clock()
        current = self._indexes.get(bid)
        checked = self._checked.get(bid)
        ttl = self.settings.schema_fingerprint_ttl_seconds
        if current and checked and checked[0] == current.fingerprint and now - checked[1] < ttl:
            return current
        async with self._locks.setdefault(bid, asyncio.Lock()):
            fingerprint = await self._fingerprint(business)
            self._checked[bid] = (fingerprint, self._clock())
            current = self._indexes.get(bid)
            if current and current.fingerprint == fingerprint:
                return current
            loaded = await asyncio.to_thread(self._load, business, fingerprint)
            if loaded is None:
                reason = "schema changed" if current else "no index on disk"
                loaded = await self._build(business, fingerprint, reason)
            self._indexes[bid] = loaded
            return loaded

    async def rebuild(self, business: BusinessConfig) -> BusinessIndex:
        """Build again from the database, whatever is on disk (`bizsql index`)."""
        async with self._locks.setdefault(business.business_id, asyncio.Lock()):
            fingerprint = await self._fingerprint(business)
            built = await self._build(business, fingerprint, "manual")
            self._indexes[business.business_id] = built
            self._checked[business.business_id] = (fingerprint, self._clock())
            return built

    async def _fingerprint(self, business: BusinessConfig) -> str:
        """The database's schema fingerprint combined with the glossary, whose terms are indexed too."""
        schema = await self.source.fingerprint(business)
        return _digest([schema, business.glossary, INDEX_FORMAT, MODEL_NAME])

    async def _build(self, business: BusinessConfig, fingerprint: str, reason: str) -> BusinessIndex:
        tables = await self.source.describe(business)
        started = self._clock()
        built = await asyncio.to_thread(self._write, business, fingerprint, tables)
        stats = self._stats_for(business.business_id)
        stats.rebuilds += 1
        stats.last_rebuild_reason = reason
        log.info(
            "schema index built",
            business_id=business.business_id,
            tables=len(tables),
            reason=reason,
            seconds=round(self._clock() - started, 3),
        )
        return built

    def _folder(self, business_id: str, fingerprint: str) -> Path:
        return self.root / _SAFE_NAME.sub("_", business_id) / f"{fingerprint[:32]}"

    def _write(self, business: BusinessConfig, fingerprint: str, tables: list[TableDoc]) -> BusinessIndex:
        if not tables:
            raise ValueError(f"business {business.business_id!r} has no readable tables to index")
        terms = glossary_terms(tables, business.glossary)
        summaries = [summary_text(t, terms.get(t.name, ())) for t in tables]
        details = [detail_text(t, terms.get(t.name, ())) for t in tables]
        vectors = np.asarray(self._embeddings().embed_documents(summaries + details), dtype=np.float32)
        combined = vectors[: len(tables)] + vectors[len(tables) :]  # inner product = sum of both cosines
        store = FAISS.from_embeddings(
            list(zip(summaries, combined.tolist(), strict=True)),
            self._embeddings(),
            metadatas=[{"table": t.name} for t in tables],
            distance_strategy=DistanceStrategy.MAX_INNER_PRODUCT,
        )
        folder = self._folder(business.business_id, fingerprint)
        staging = folder.with_name(folder.name + f".tmp{time.time_ns()}")
        staging.mkdir(parents=True, exist_ok=True)
        store.save_local(str(staging))
        built_at = datetime.now(UTC)
        (staging / "tables.json").write_text(json.dumps([t.to_json() for t in tables]))
        (staging / "meta.json").write_text(json.dumps(self._meta(business, fingerprint, built_at)))
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
        for old in folder.parent.iterdir():
            if old != folder and ".tmp" not in old.name:
                shutil.rmtree(old, ignore_errors=True)
        by_name = {t.name: t for t in tables}
        return BusinessIndex(
            fingerprint, store, by_name, folder, built_at, term_tables(tables, business.glossary)
        )

    def _meta(self, business: BusinessConfig, fingerprint: str, built_at: datetime) -> dict[str, Any]:
        return {
            "format": INDEX_FORMAT,
            "business_id": business.business_id,
            "fingerprint": fingerprint,
            "model": MODEL_NAME,
            "built_at": built_at.isoformat(),
            "writer": "bizsql",
        }

    def _load(self, business: BusinessConfig, fingerprint: str) -> BusinessIndex | None:
        """Load only a folder bizsql wrote for exactly this fingerprint (FAISS files are pickles)."""
        business_id = business.business_id
        folder = self._folder(business_id, fingerprint)
        try:
            meta = json.loads((folder / "meta.json").read_text())
        except (OSError, ValueError):
            return None
        expected = (INDEX_FORMAT, business_id, fingerprint, MODEL_NAME, "bizsql")
        if (meta.get("format"), meta.get("business_id"), meta.get("fingerprint"), meta.get("model"),
                meta.get("writer")) != expected:  # fmt: skip
            return None
        try:
            store = FAISS.load_local(
                str(folder),
                self._embeddings(),
                allow_dangerous_deserialization=True,  # our own file, checked above
                distance_strategy=DistanceStrategy.MAX_INNER_PRODUCT,
            )
            tables = [TableDoc.from_json(t) for t in json.loads((folder / "tables.json").read_text())]
        except (OSError, ValueError, RuntimeError) as exc:
            log.warning("schema index unreadable; rebuilding", folder=str(folder), error=str(exc))
            return None
        built_at = datetime.fromisoformat(meta["built_at"])
        by_name = {t.name: t for t in tables}
        return BusinessIndex(
            fingerprint, store, by_name, folder, built_at, term_tables(tables, business.glossary)
        )

    def known_tables(self, business_id: str) -> list[str]:
        """Table names from the loaded index or the newest one on disk, without touching the database."""
        if index := self._indexes.get(business_id):
            return sorted(index.tables)
        folder = self.root / _SAFE_NAME.sub("_", business_id)
        try:
            newest = max(
                (p for p in folder.iterdir() if ".tmp" not in p.name), key=lambda p: p.stat().st_mtime
            )
            return sorted(t["name"] for t in json.loads((newest / "tables.json").read_text()))
        except (OSError, ValueError, KeyError):
            return []

    # --- search ----------------------------------------------------------------------------------
    async def retrieve(self, business: BusinessConfig, question: str, *, k: int | None = None) -> Retrieval:
        """The top-k tables for a question plus the tables that join them; counted in the stats."""
        index = await self.ensure(business)
        t0 = time.perf_counter()
        vector = await self.embed(question)
        t1 = time.perf_counter()
        settings = self.settings
        hits = index.search(vector, k or settings.retrieval_top_k, question)
        detailed = detailed_tables(
            hits, most=settings.retrieval_detail_tables, ratio=settings.retrieval_detail_ratio
        )
        names = kept_tables(hits, detailed, index.adjacency, floor=settings.retrieval_keep_ratio)
        bridges = index.bridges(names, settings.retrieval_bridge_tables)
        asked = {
            name: columns
            for name in [*names, *bridges]
            if name not in detailed and (columns := asked_columns(index.tables[name], question))
        }
        terms = relevant_terms(business.glossary, index.terms, detailed, question)
        t2 = time.perf_counter()
        stats = self._stats_for(business.business_id)
        stats.searches += 1
        stats.embed_ms.append((t1 - t0) * 1000)
        stats.search_ms.append((t2 - t1) * 1000)
        return Retrieval(
            tables=[index.tables[n] for n in [*names, *bridges]],
            scores=dict(hits),
            bridges=bridges,
            detailed=detailed,
            asked_columns=asked,
            terms=terms,
            fingerprint=index.fingerprint,
            embed_ms=(t1 - t0) * 1000,
            search_ms=(t2 - t1) * 1000,
        )

    async def verified_matches(self, business: BusinessConfig, question: str, k: int) -> list[VerifiedMatch]:
        """The business's verified queries most similar to the question, best first (cosine). A question
        typed exactly as a verified one (case, spacing and end punctuation aside) is that one, found
        without the embedding model, so `bizsql ask` with a verified question never loads it."""
        if not business.verified_queries or k <= 0:
            return []
        typed = _plain_text(question)
        for query in business.verified_queries:
            if _plain_text(query.question) == typed:
                return [VerifiedMatch(query.question, query.sql, 1.0)]
        queries, matrix = await self._verified_matrix(business)
        vector = np.asarray(await self.embed(question), dtype=np.float32)
        scores = matrix @ vector
        order = np.argsort(-scores)[:k]
        return [VerifiedMatch(queries[i].question, queries[i].sql, float(scores[i])) for i in order]

    async def _verified_matrix(self, business: BusinessConfig) -> tuple[list[VerifiedQuery], np.ndarray]:
        key = _digest([[q.question, q.sql] for q in business.verified_queries])
        cached = self._verified.get(business.business_id)
        if cached and cached[0] == key:
            return cached[1], cached[2]
        queries = list(business.verified_queries)
        vectors = await asyncio.to_thread(self._embeddings().embed_documents, [q.question for q in queries])
        matrix = np.asarray(vectors, dtype=np.float32)
        self._verified[business.business_id] = (key, queries, matrix)
        return queries, matrix

    # --- stats -----------------------------------------------------------------------------------
    def _stats_for(self, business_id: str) -> SearchStats:
        return self._stats.setdefault(business_id, SearchStats())

    def stats(self) -> dict[str, Any]:
        """Per business: index size, searches, latency percentiles (ms), rebuilds; for /debug/search-stats."""
        out: dict[str, Any] = {}
        for bid in sorted(set(self._stats) | set(self._indexes)):
            index = self._indexes.get(bid)
            out[bid] = {
                "tables": len(index.tables) if index else 0,
                "vectors": index.store.index.ntotal if index else 0,
                "fingerprint": index.fingerprint if index else None,
                "built_at": index.built_at.isoformat() if index else None,
                "bytes_on_disk": folder_size(index.path) if index else 0,
                **self._stats_for(bid).report(),
            }
        return out


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _plain_text(question: str) -> str:
    return " ".join(question.casefold().split()).rstrip("?.! ")
