"""One business's loaded schema index: the FAISS store, its tables, their joins, and the search over them.

A table's score is the sum of two cosine similarities (its short and its long description, see
``table_docs``) plus ``LEXICAL_BOOST`` per keyword signal naming it (``lexical``): dense retrieval alone
scores long descriptions low and close together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import combinations
from pathlib import Path

import numpy as np
from langchain_community.vectorstores import FAISS

from bizsql.retrieval.lexical import Lexicon
from bizsql.retrieval.table_docs import TableDoc

LEXICAL_BOOST = 0.3
"""Added to a table's score (a sum of two cosines, so up to 2) per keyword signal naming it."""
DENSE_CANDIDATES = 20


@dataclass
class BusinessIndex:
    """One loaded index: FAISS store, tables by name, their foreign-key neighbours, the keyword lexicon."""

    fingerprint: str
    store: FAISS
    tables: dict[str, TableDoc]
    path: Path
    built_at: datetime
    terms: dict[str, tuple[str, ...]] = field(default_factory=dict)
    adjacency: dict[str, set[str]] = field(init=False)
    lexicon: Lexicon = field(init=False)
    rows: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        adj: dict[str, set[str]] = {name: set() for name in self.tables}
        for table in self.tables.values():
            for ref in table.references():
                if ref in adj and ref != table.name:
                    adj[table.name].add(ref)
                    adj[ref].add(table.name)
        self.adjacency = adj
        self.lexicon = Lexicon.build(self.tables, self.terms)
        docs = self.store.docstore._dict  # type: ignore[attr-defined]
        self.rows = {
            docs[doc_id].metadata["table"]: row for row, doc_id in self.store.index_to_docstore_id.items()
        }

    def search(self, vector: Sequence[float], k: int, question: str = "") -> list[tuple[str, float]]:
        """Table names and scores, best first: embedding similarity plus keyword signals. No embedding
        happens here."""
        query = np.asarray([vector], dtype=np.float32)
        scores, ids = self.store.index.search(query, min(max(DENSE_CANDIDATES, 4 * k), len(self.rows)))
        names = self.store.index_to_docstore_id
        docs = self.store.docstore._dict  # type: ignore[attr-defined]
        found = {
            docs[names[i]].metadata["table"]: float(sc)
            for sc, i in zip(scores[0], ids[0], strict=True)
            if i >= 0
        }
        for name, signals in self.lexicon.matches(question).items() if question else ():
            if name not in found:
                found[name] = float(np.dot(self.store.index.reconstruct(self.rows[name]), query[0]))
            found[name] += LEXICAL_BOOST * signals
        return sorted(found.items(), key=lambda kv: -kv[1])[:k]

    def bridges(self, names: Sequence[str], limit: int) -> list[str]:
        """Tables that join two retrieved, not directly joined tables (one hop), best-ranked pairs first."""
        chosen = set(names)
        found: list[str] = []
        for a, b in combinations(names, 2):
            if len(found) >= limit:
                break
            if b in self.adjacency.get(a, set()):
                continue
            middle = sorted((self.adjacency.get(a, set()) & self.adjacency.get(b, set())) - chosen)
            if middle:
                found.append(middle[0])
                chosen.add(middle[0])
        return found
