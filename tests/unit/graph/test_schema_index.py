"""The per-business FAISS index: retrieval, on-disk reuse keyed by fingerprint, rebuilds, stats."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from bizsql.config import Settings
from bizsql.retrieval.index import SchemaIndex
from bizsql.retrieval.table_docs import TableDoc
from bizsql.stores.business import VerifiedQuery
from tests.unit.graph.conftest import FakeSource, col, shop_business


async def test_question_retrieves_the_tables_it_needs(unit_settings: Settings) -> None:
    index = SchemaIndex(unit_settings, FakeSource())
    found = await index.retrieve(shop_business(), "Which customers in Texas placed the most orders?", k=2)
    assert set(found.names[:2]) == {"customers", "orders"}
    assert found.scores["customers"] > 0.2


async def test_tables_joining_two_retrieved_tables_are_added(unit_settings: Settings) -> None:
    built = await SchemaIndex(unit_settings, FakeSource()).ensure(shop_business())
    assert built.bridges(["orders", "products"], limit=3) == ["order_items"]
    assert built.bridges(["orders", "customers"], limit=3) == [], "directly joined: nothing to add"
    assert built.bridges(["orders", "products"], limit=0) == []
    assert built.bridges(["employees", "suppliers"], limit=3) == [], "no join path: nothing invented"


async def test_retrieval_returns_top_k_then_bridges(unit_settings: Settings) -> None:
    index = SchemaIndex(unit_settings, FakeSource())
    found = await index.retrieve(shop_business(), "quantity of each product sold to each customer", k=3)
    assert len(found.names) == 3 + len(found.bridges)
    assert found.names[3:] == found.bridges
    assert len(set(found.names)) == len(found.names)


async def test_index_is_written_under_data_dir_and_reused_by_a_new_process(unit_settings: Settings) -> None:
    source = FakeSource()
    await SchemaIndex(unit_settings, source).ensure(shop_business())
    folders = list((unit_settings.data_dir / "indexes" / "shop").iterdir())
    assert len(folders) == 1
    assert {p.name for p in folders[0].iterdir()} >= {"index.faiss", "index.pkl", "meta.json", "tables.json"}

    again = SchemaIndex(unit_settings, source)
    loaded = await again.ensure(shop_business())
    assert source.describes == 1, "the second process loaded the files instead of describing again"
    assert set(loaded.tables) == {t.name for t in source.tables}
    assert again.stats()["shop"]["rebuilds"] == 0


async def test_a_new_column_rebuilds_the_index_and_removes_the_old_files(unit_settings: Settings) -> None:
    source = FakeSource()
    clock = [0.0]
    index = SchemaIndex(unit_settings, source, clock=lambda: clock[0])
    first = await index.ensure(shop_business())
    customers = source.tables[0]
    source.tables[0] = replace(customers, columns=(*customers.columns, col("loyalty_tier", "text")))

    clock[0] += unit_settings.schema_fingerprint_ttl_seconds + 1
    second = await index.ensure(shop_business())
    assert second.fingerprint != first.fingerprint
    assert "loyalty_tier" in [c.name for c in second.tables["customers"].columns]
    assert [p.name for p in (unit_settings.data_dir / "indexes" / "shop").iterdir()] == [second.path.name]
    stats = index.stats()["shop"]
    assert (stats["rebuilds"], stats["last_rebuild_reason"]) == (2, "schema changed")


async def test_fingerprint_is_read_once_per_ttl(unit_settings: Settings) -> None:
    source = FakeSource()
    clock = [100.0]
    index = SchemaIndex(unit_settings, source, clock=lambda: clock[0])
    for _ in range(3):
        await index.ensure(shop_business())
    assert source.fingerprints == 1
    clock[0] += unit_settings.schema_fingerprint_ttl_seconds + 0.1
    await index.ensure(shop_business())
    assert source.fingerprints == 2


async def test_files_bizsql_did_not_write_are_never_unpickled(unit_settings: Settings) -> None:
    source = FakeSource()
    built = await SchemaIndex(unit_settings, source).ensure(shop_business())
    meta = json.loads((built.path / "meta.json").read_text())
    (built.path / "meta.json").write_text(json.dumps({**meta, "writer": "someone else"}))
    (built.path / "index.pkl").write_bytes(b"not a pickle we wrote")

    fresh = SchemaIndex(unit_settings, source)
    await fresh.ensure(shop_business())
    assert source.describes == 2
    assert fresh.stats()["shop"]["last_rebuild_reason"] == "no index on disk"


async def test_glossary_terms_reach_the_tables_they_name(unit_settings: Settings) -> None:
    tables = [TableDoc("ledger_entries", (col("id"), col("amount", "numeric")), "accounting lines"),
              TableDoc("staff", (col("id"), col("name", "text")), "people")]  # fmt: skip
    business = shop_business(glossary={"bookings": "rows of ledger_entries with amount > 0"})
    index = SchemaIndex(unit_settings, FakeSource(tables))
    found = await index.retrieve(business, "how many bookings did we have", k=1)
    assert found.names == ["ledger_entries"]


async def test_search_stats_count_searches_and_latency(unit_settings: Settings) -> None:
    index = SchemaIndex(unit_settings, FakeSource())
    for question in ("orders per month", "products by price", "staff hired in 2024"):
        await index.retrieve(shop_business(), question)
    stats = index.stats()["shop"]
    assert stats["searches"] == 3
    assert stats["tables"] == stats["vectors"] == 6
    assert stats["bytes_on_disk"] > 0
    assert 0 < stats["search_ms"]["p50"] <= stats["search_ms"]["p99"]
    assert stats["embed_ms"]["p50"] > 0


async def test_verified_queries_are_ranked_by_similarity(unit_settings: Settings) -> None:
    index = SchemaIndex(unit_settings, FakeSource())
    matches = await index.verified_matches(shop_business(), "number of customers per state", 2)
    assert matches[0].question == "How many customers are there in each state?"
    assert matches[0].score > matches[1].score


async def test_a_verified_question_typed_exactly_is_found_without_the_embedding_model(
    unit_settings: Settings,
) -> None:
    """`bizsql ask` with a verified question must not pay the model's load time (about 4 s)."""

    def no_model() -> Any:
        raise AssertionError("the embedding model was loaded")

    business = shop_business().model_copy(
        update={"verified_queries": [VerifiedQuery(question="How many orders per month?", sql="SELECT 1")]}
    )
    index = SchemaIndex(unit_settings, FakeSource(), embeddings=no_model)
    found = await index.verified_matches(business, "  how many ORDERS per month ", 1)
    assert [(m.question, m.score) for m in found] == [("How many orders per month?", 1.0)]
