"""Whether a question is one of the business's verified questions: similar enough, and the same ask.

Embedding similarity alone confuses "top 5" with "top 10", "2023" with "2024" or "most" with "least"
(all above 0.95 with MiniLM), so a match must also keep the question's specifics: its numbers, quoted
values, proper names and contrast words must be those of the verified question.
"""

from __future__ import annotations

import re

from bizsql.retrieval.index import SchemaIndex, VerifiedMatch
from bizsql.stores.business import BusinessConfig

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_QUOTED = re.compile(r"""["'“‘]([^"'”’]+)["'”’]""")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
CONTRAST_WORDS = frozenset((
    "not", "no", "never", "without", "except", "excluding", "exclude", "only", "least", "most", "lowest",
    "highest", "smallest", "largest", "fewest", "bottom", "top", "min", "max", "minimum", "maximum", "first",
    "last", "previous", "next", "this", "current", "today", "yesterday", "tomorrow", "week", "weekly",
    "month", "monthly", "quarter", "quarterly", "year", "yearly", "annual", "daily", "day", "days", "weeks",
    "months", "years", "before", "after", "since", "until", "above", "below", "over", "under", "more", "less",
    "increase", "decrease", "growth", "decline", "average", "avg", "median", "sum", "total", "count",
    "percent", "percentage", "share", "ratio", "per", "each", "unique", "distinct", "cancelled", "canceled",
    "pending", "active", "inactive", "open", "closed",
))  # fmt: skip
MONTHS = frozenset((
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
    "november", "december",
))  # fmt: skip


def specifics(question: str) -> frozenset[str]:
    """Numbers, quoted values and contrast words: a change in any of them changes the answer."""
    found = {f"#{n.replace(',', '')}" for n in _NUMBER.findall(question)}
    found |= {f'"{q.strip().lower()}' for q in _QUOTED.findall(question)}
    found |= {w for w in (t.lower() for t in _WORD.findall(question)) if w in CONTRAST_WORDS or w in MONTHS}
    return frozenset(found)


def proper_names(question: str) -> set[str]:
    """Capitalised words after the first (Texas, Houston, Acme), lower-cased."""
    return {t.lower() for t in _WORD.findall(question)[1:] if t[0].isupper() and t.lower() != "i"}


def same_specifics(a: str, b: str) -> bool:
    """Whether two similar questions ask for the same thing: same specifics, and every name either one
    capitalises appears in both (so "texas" typed in lower case still matches "Texas")."""
    if specifics(a) != specifics(b):
        return False
    words_a = {t.lower() for t in _WORD.findall(a)}
    words_b = {t.lower() for t in _WORD.findall(b)}
    return all(name in words_a and name in words_b for name in proper_names(a) | proper_names(b))


async def find_verified(
    index: SchemaIndex, business: BusinessConfig | None, question: str, *, threshold: float
) -> VerifiedMatch | None:
    """The verified query this question is, if any: similar enough and with the same specifics."""
    if business is None or not question or not business.verified_queries:
        return None
    matches = await index.verified_matches(business, question, 1)
    if not matches:
        return None
    best = matches[0]
    if best.score < threshold or not same_specifics(best.question, question):
        return None
    return best
