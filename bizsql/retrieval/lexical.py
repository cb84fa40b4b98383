"""Keyword signals that complement embedding search: a table named in the question, a glossary term used.

Dense retrieval alone scores long table descriptions low and close together (0.25 to 0.30 for
"Top 5 customers by revenue" on acme_retail, with ``customers`` and ``orders`` outside the top 5); the
words a user types are often the table's own name or a business term whose definition names the table.
Matching is on crudely singularised words, and table names are found through an inverted index, so a
10,000-table schema costs a few dictionary look-ups per question.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

_WORD = re.compile(r"[A-Za-z0-9]+")
_SPLIT = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|_")


def singular(word: str) -> str:
    """``categories`` -> ``category``, ``orders`` -> ``order``; short words are left alone."""
    w = word.lower()
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 4 and w.endswith(("ses", "xes", "ches", "shes")):
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


def tokens(text: str) -> frozenset[str]:
    """The singular, lower-case words of a question or of an identifier (``order_items``, ``orderItems``)."""
    spaced = " ".join(_SPLIT.split(text))
    return frozenset(singular(w) for w in _WORD.findall(spaced))


@dataclass
class Lexicon:
    """Which tables a question names, directly or through glossary terms."""

    by_word: dict[str, list[tuple[str, frozenset[str]]]] = field(default_factory=lambda: defaultdict(list))
    terms: list[tuple[frozenset[str], tuple[str, ...]]] = field(default_factory=list)

    @classmethod
    def build(cls, table_names: Iterable[str], term_tables: Mapping[str, Iterable[str]]) -> Lexicon:
        """``term_tables``: glossary term -> the tables its definition names."""
        lexicon = cls()
        for name in table_names:
            words = tokens(name)
            if words:
                lexicon.by_word[min(words)].append((name, words))
        for term, tables in term_tables.items():
            for variant in _variants(term):
                if words := tokens(variant):
                    lexicon.terms.append((words, tuple(tables)))
        return lexicon

    def matches(self, question: str) -> dict[str, int]:
        """Table -> how many signals name it (its full name in the question, each glossary term used)."""
        asked = tokens(question)
        found: dict[str, int] = defaultdict(int)
        for word in asked:
            for name, words in self.by_word.get(word, ()):
                if words <= asked:
                    found[name] += 1
        for words, tables in self.terms:
            if words <= asked:
                for name in tables:
                    found[name] += 1
        return dict(found)


def _variants(term: str) -> list[str]:
    """``average order value (AOV)`` is used as either ``average order value`` or ``AOV``."""
    inside = re.findall(r"\(([^)]*)\)", term)
    outside = re.sub(r"\([^)]*\)", " ", term)
    return [outside, *inside]


def mentions(question: str, term: str) -> bool:
    """Whether the question uses a glossary term (or its abbreviation), word forms aside."""
    asked = tokens(question)
    return any((words := tokens(variant)) and words <= asked for variant in _variants(term))
