"""How much of the retrieved schema the SQL prompt shows in full: the prompt's largest cost.

Retrieval keeps the top k tables (plus joining ones) so a needed table is rarely missing, but most
questions need one or two of them. The tables that score close to the best one are shown in full
(comments, sample values); the rest show only columns and keys. Glossary terms come along when the
question uses them or when they define something over a table shown in full.

On acme_retail's golden questions, 89% of the tables the gold SQL reads rank in the top three, and a
single-table question's table usually scores twice the next one (see docs/quality.md).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from bizsql.tools.lexical import mentions


def detailed_tables(ranked: Sequence[tuple[str, float]], *, most: int, ratio: float) -> list[str]:
    """The best table, and the next ones whose score is at least ``ratio`` of the best, up to ``most``."""
    if not ranked or most <= 0:
        return []
    best = ranked[0][1]
    close = [name for name, score in ranked[1:] if best > 0 and score >= ratio * best]
    return [ranked[0][0], *close][:most]


def kept_tables(
    ranked: Sequence[tuple[str, float]],
    detailed: Collection[str],
    adjacency: Mapping[str, Collection[str]],
    *,
    floor: float,
) -> list[str]:
    """The retrieved tables worth a place in the prompt: those shown in full, those that join one of
    them, and those that still score at least ``floor`` of the best (retrieval may have misjudged)."""
    if not ranked:
        return []
    best = ranked[0][1]
    return [
        name
        for name, score in ranked
        if name in detailed
        or any(name in adjacency.get(d, ()) for d in detailed)
        or (best > 0 and score >= floor * best)
    ]


def relevant_terms(
    term_tables: Mapping[str, Sequence[str]], detailed: Collection[str], question: str
) -> list[str]:
    """Glossary terms the question uses, or whose definition names a table shown in full."""
    return [
        term
        for term, tables in term_tables.items()
        if mentions(question, term) or any(t in detailed for t in tables)
    ]
