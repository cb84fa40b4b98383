"""What the schema index knows about a table, and the two ways it is written out.

Two texts per table are embedded for retrieval, a short summary (name, purpose, column names, glossary
terms) and a detailed one (column comments, joins, sample values), and their vectors are added, so a
table scores the sum of both similarities. A third text is the compact DDL-like schema context the LLM
sees, where privacy mode leaves out sample values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

SAMPLE_CHARS = 40


@dataclass(frozen=True)
class ColumnDoc:
    name: str
    type: str
    comment: str = ""
    samples: tuple[str, ...] = ()
    nullable: bool = True


@dataclass(frozen=True)
class ForeignKeyDoc:
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]


@dataclass(frozen=True)
class TableDoc:
    """One table as retrieval and prompts need it; plain data so it round-trips through JSON."""

    name: str
    columns: tuple[ColumnDoc, ...]
    comment: str = ""
    primary_key: tuple[str, ...] = ()
    foreign_keys: tuple[ForeignKeyDoc, ...] = ()
    row_estimate: int | None = None
    extra_terms: tuple[str, ...] = field(default=(), compare=False)

    def references(self) -> set[str]:
        return {fk.ref_table for fk in self.foreign_keys}

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TableDoc:
        return cls(
            name=data["name"],
            columns=tuple(
                ColumnDoc(**{**c, "samples": tuple(c.get("samples", ()))}) for c in data["columns"]
            ),
            comment=data.get("comment", ""),
            primary_key=tuple(data.get("primary_key", ())),
            foreign_keys=tuple(
                ForeignKeyDoc(tuple(fk["columns"]), fk["ref_table"], tuple(fk["ref_columns"]))
                for fk in data.get("foreign_keys", ())
            ),
            row_estimate=data.get("row_estimate"),
            extra_terms=tuple(data.get("extra_terms", ())),
        )


def words(identifier: str) -> str:
    """``order_items`` -> ``order items``, ``createdAt`` -> ``created at``: what the embedder understands."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", identifier).replace("_", " ")
    return spaced.lower().strip()


def term_tables(tables: Sequence[TableDoc], glossary: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """Glossary term -> the tables its definition names (the inverse of ``glossary_terms``)."""
    out: dict[str, list[str]] = {}
    for table, terms in glossary_terms(tables, glossary).items():
        for term in terms:
            out.setdefault(term, []).append(table)
    return {term: tuple(names) for term, names in out.items()}


def glossary_terms(tables: Sequence[TableDoc], glossary: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """Glossary terms per table: a term belongs to every table its definition names (or whose column)."""
    found: dict[str, list[str]] = {t.name: [] for t in tables}
    for term, definition in glossary.items():
        text = f" {definition.lower()} "
        for table in tables:
            names = [table.name, *(f"{table.name}.{c.name}" for c in table.columns)]
            if any(re.search(rf"(?<![\w.]){re.escape(n.lower())}(?!\w)", text) for n in names):
                found[table.name].append(term)
    return {name: tuple(terms) for name, terms in found.items()}


def summary_text(table: TableDoc, terms: Iterable[str] = ()) -> str:
    """The short text embedded for retrieval: name, purpose, column names and glossary terms."""
    parts = [f"{words(table.name)}: {table.comment}".strip().rstrip(":")]
    parts.append("columns: " + ", ".join(words(c.name) for c in table.columns))
    all_terms = [*terms, *table.extra_terms]
    if all_terms:
        parts.append("terms: " + ", ".join(all_terms))
    return ". ".join(parts)


def detail_text(table: TableDoc, terms: Iterable[str] = ()) -> str:
    """The long text embedded for retrieval: column comments, joins and sample values too (the embedder
    reads only the first 256 word pieces of it, so the most telling parts come first)."""
    parts = [f"{words(table.name)}: {table.comment}".strip().rstrip(":")]
    column_bits = []
    for col in table.columns:
        bit = words(col.name)
        if col.comment:
            bit += f" ({col.comment})"
        column_bits.append(bit)
    parts.append("columns: " + ", ".join(column_bits))
    if table.foreign_keys:
        parts.append("related to: " + ", ".join(sorted(words(t) for t in table.references())))
    all_terms = [*terms, *table.extra_terms]
    if all_terms:
        parts.append("terms: " + ", ".join(all_terms))
    samples = [f"{words(c.name)} like {', '.join(c.samples[:3])}" for c in table.columns if c.samples]
    if samples:
        parts.append("values: " + "; ".join(samples))
    return ". ".join(parts)


def render_context(tables: Sequence[TableDoc], *, privacy: bool = False) -> str:
    """The schema context the LLM sees: one block per table, DDL-like, with keys, joins and comments.

    In privacy mode no sample values are included, because they are row values.
    """
    blocks = []
    for table in tables:
        head = f"TABLE {table.name}"
        if table.row_estimate is not None and table.row_estimate >= 0:
            head += f" (~{table.row_estimate:,} rows)"
        if table.comment:
            head += f" -- {table.comment}"
        lines = [head]
        fk_of = {fk.columns[0]: fk for fk in table.foreign_keys if len(fk.columns) == 1}
        for col in table.columns:
            line = f"  {col.name} {col.type}"
            if col.name in table.primary_key:
                line += " PRIMARY KEY" if len(table.primary_key) == 1 else " (part of PRIMARY KEY)"
            if fk := fk_of.get(col.name):
                line += f" REFERENCES {fk.ref_table}({', '.join(fk.ref_columns)})"
            notes = [col.comment] if col.comment else []
            if col.samples and not privacy:
                shown = ", ".join(repr(s[:SAMPLE_CHARS]) for s in col.samples[:5])
                notes.append(f"e.g. {shown}")
            if notes:
                line += "  -- " + "; ".join(notes)
            lines.append(line)
        for fk in table.foreign_keys:
            if len(fk.columns) > 1:
                lines.append(
                    f"  FOREIGN KEY ({', '.join(fk.columns)}) REFERENCES {fk.ref_table}"
                    f"({', '.join(fk.ref_columns)})"
                )
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
