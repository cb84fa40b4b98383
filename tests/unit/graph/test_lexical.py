"""Keyword signals: a table named in the question, or a glossary term whose definition names it."""

from __future__ import annotations

from bizsql.retrieval.lexical import Lexicon, singular, tokens


def test_words_are_singular_and_split_like_identifiers() -> None:
    assert tokens("Which product categories sell best?") == {"which", "product", "category", "sell", "best"}
    assert tokens("order_items") == tokens("orderItems") == {"order", "item"}
    assert [singular(w) for w in ("boxes", "status", "class", "bus", "addresses")] == [
        "box", "status", "class", "bus", "address"
    ]  # fmt: skip


def test_a_table_counts_as_named_only_when_all_its_words_are_there() -> None:
    lexicon = Lexicon.build(["orders", "order_items", "product_suppliers", "suppliers"], {})
    assert lexicon.matches("Which suppliers are in China?") == {"suppliers": 1}
    assert lexicon.matches("items per order") == {"order_items": 1, "orders": 1}
    assert lexicon.matches("which product has most suppliers") == {"product_suppliers": 1, "suppliers": 1}


def test_glossary_terms_and_their_abbreviations_point_at_their_tables() -> None:
    lexicon = Lexicon.build(
        ["orders", "customers"],
        {"revenue": ("orders",), "average order value (AOV)": ("orders",)},
    )
    assert lexicon.matches("Top customers by revenue") == {"customers": 1, "orders": 1}
    assert lexicon.matches("AOV by month") == {"orders": 1}
    assert lexicon.matches("What is the average order value?") == {"orders": 2}
