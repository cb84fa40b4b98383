"""How much of the retrieved schema the SQL prompt shows in full: the prompt's largest cost.

Retrieval keeps the top k tables (plus joining ones) so a needed table is rarely missing, but most
questions need one or two of them. The tables that score close to the best one are shown in full
(comments, sample values); the rest show only columns and keys, except the columns the question names or
whose sample values it uses (``'gold'`` in "gold tier customers"), which keep their comment and values:
a query filtering on a guessed literal returns wrong rows without any error to retry on. Tables that
neither join a table shown in full nor score near the best are left out. Glossary terms come along when
the question uses them or when their definition is about a table shown in full.

On acme_retail's golden questions, 89% of the tables the gold SQL reads rank in the top three, and a
single-table question's table usually scores twice the next one (see docs/quality.md).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from bizsql.retrieval.lexical import mentions, tokens
from bizsql.retrieval.table_docs import TableDoc

VALUE_WORDS = 3
"""Sample values of at most this many words are matched against the question (categories, codes, names);
longer ones are free text, whose common words would match anything."""
_NOT_NAMES = frozenset({"id"})


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
    """The retrieved tables worth a place in the prompt: the best one, those shown in full, those that
    join one of them, and those that still score at least ``floor`` of the best (retrieval may have
    misjudged)."""
    if not ranked:
        return []
    best = ranked[0][1]
    return [
        name
        for i, (name, score) in enumerate(ranked)
        if i == 0
        or name in detailed
        or any(name in adjacency.get(d, ()) for d in detailed)
        or (best > 0 and score >= floor * best)
    ]


def asked_columns(table: TableDoc, question: str) -> list[str]:
    """Columns of ``table`` the question names (all of the name's words) or whose short sample values it
    uses; ids and numbers alone never count."""
    asked = tokens(question)
    found = []
    for col in table.columns:
        name = tokens(col.name) - _NOT_NAMES
        values = (tokens(s) for s in col.samples if len(s.split()) <= VALUE_WORDS)
        if (name and name <= asked) or any(v and not _numeric(v) and v <= asked for v in values):
            found.append(col.name)
    return found


def relevant_terms(
    glossary: Mapping[str, str],
    term_tables: Mapping[str, Sequence[str]],
    detailed: Collection[str],
    question: str,
) -> list[str]:
    """Glossary terms the question uses, or whose definition names a table shown in full, by its exact
    name or in words ("an appointment with status = 'completed'" is about ``appointments``)."""
    detailed_words = [(name, tokens(name)) for name in detailed]
    picked = []
    for term, definition in glossary.items():
        words = tokens(definition)
        about = set(term_tables.get(term, ())) | {n for n, w in detailed_words if w and w <= words}
        if mentions(question, term) or about & set(detailed):
            picked.append(term)
    return picked


def _numeric(words: frozenset[str]) -> bool:
    return all(w.replace(".", "").isdigit() for w in words)
