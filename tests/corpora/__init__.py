"""The SQL corpora: attacks the guard must refuse, and honest analytics queries it must accept and run.

Legit queries live in ``legit_<business>.sql`` (blocks separated by a line ``-- ;;``); attacks live in
``attacks.yaml`` with the reason the refusal must give and what the reader role alone does with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

HERE = Path(__file__).parent
SEPARATOR = "-- ;;"
BUSINESSES = ("acme_retail", "city_clinic", "swift_logistics")


@dataclass(frozen=True)
class Legit:
    business: str
    sql: str

    @property
    def id(self) -> str:
        return f"{self.business}:{' '.join(self.sql.split())[:60]}"


@dataclass(frozen=True)
class Attack:
    """One attack: ``reason`` is a regex the refusal must match; ``direct`` is what the bare reader role does.

    ``direct`` is "fails" when the role and the read-only transaction alone stop it; "harmless" when it
    runs but only reads what any role may read or changes nothing that outlives the session; "runs" when
    the bare role runs it and returns rows (the guard is the layer that refuses it); "either" when it may
    run or fail and leaves nothing behind. ``write`` marks a write, which an analyst is refused for.
    ``stage`` is "executor" when the refusal comes after the guard (cost ceiling, write limits, roles).
    """

    sql: str
    reason: str
    direct: Literal["fails", "harmless", "runs", "either"] = "fails"
    stage: Literal["guard", "executor"] = "guard"
    user: str | None = None
    category: str = ""
    write: bool = False

    @property
    def id(self) -> str:
        return f"{self.category}:{' '.join(self.sql.split())[:60]!r}"


def legit_queries() -> list[Legit]:
    queries = []
    for business in BUSINESSES:
        text = (HERE / f"legit_{business}.sql").read_text()
        for block in text.split(f"\n{SEPARATOR}\n"):
            lines = [line for line in block.strip().splitlines() if line.strip()]
            if lines and not all(line.lstrip().startswith("--") for line in lines):
                queries.append(Legit(business, block.strip()))
    return queries


def attacks(corpus: str = "attacks.yaml") -> list[Attack]:
    data = yaml.safe_load((HERE / corpus).read_text())
    found = []
    for category, entries in data.items():
        for entry in entries:
            entry = {"sql": entry} if isinstance(entry, str) else entry
            found.append(Attack(category=category, **entry))
    return found
