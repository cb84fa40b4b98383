"""What the schema index knows about a table, and the two ways it is written out.

Two texts per table are embedded for retrieval, a short summary (name, purpose, column names, glossary
terms) and a detailed one (column comments, joins, sample values), and their vectors are added, so a
table scores the sum of both similarities. A third text is the compact DDL-like schema context the LLM
sees, where privacy mode leaves out sample values.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

SAMPLE_CHARS = 40
_SELF_EVIDENT = re.compile(r"(boolean|date|time|timestamp|interval)\b", re.IGNORECASE)
_OPAQUE_KEY = re.compile(
    r"(smallint|integer|bigint|int\d?|serial|bigserial|uuid|numeric|oid)\b", re.IGNORECASE
)


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


def render_context(
    tables: Sequence[TableDoc],
    *,
    privacy: bool = False,
    detailed: Collection[str] | None = None,
    asked: Mapping[str, Collection[str]] | None = None,
) -> str:
    """The schema context the LLM sees: one DDL-like block per table, with keys, joins and comments.

    Tables named in ``detailed`` (all when it is None) show column comments and sample values; the
    others show their columns and keys on one line, enough to join through them or notice they fit, at
    a fifth of the tokens, plus a note for each of their columns listed in ``asked`` (the ones the
    question names or whose values it uses). In privacy mode no sample values are included, because
    they are row values.
    """
    notes_for = asked or {}
    return "\n\n".join(
        _detailed_block(t, privacy=privacy)
        if detailed is None or t.name in detailed
        else _brief_block(t, notes_for.get(t.name, ()), privacy=privacy)
        for t in tables
    )


def _head(table: TableDoc, *, rows: bool = True) -> str:
    head = f"TABLE {table.name}"
    if rows and table.row_estimate is not None and table.row_estimate >= 0:
        head += f" (~{table.row_estimate:,} rows)"
    if table.comment:
        head += f" -- {table.comment}"
    return head


def _column(table: TableDoc, col: ColumnDoc, fk: ForeignKeyDoc | None) -> str:
    line = f"{col.name} {col.type}"
    if col.name in table.primary_key:
        line += " PRIMARY KEY" if len(table.primary_key) == 1 else " (part of PRIMARY KEY)"
    if fk is not None:
        line += f" REFERENCES {fk.ref_table}({', '.join(fk.ref_columns)})"
    return line


def _single_column_keys(table: TableDoc) -> dict[str, ForeignKeyDoc]:
    return {fk.columns[0]: fk for fk in table.foreign_keys if len(fk.columns) == 1}


def _composite_keys(table: TableDoc) -> list[str]:
    return [
        f"FOREIGN KEY ({', '.join(fk.columns)}) REFERENCES {fk.ref_table}({', '.join(fk.ref_columns)})"
        for fk in table.foreign_keys
        if len(fk.columns) > 1
    ]


def _teaches(table: TableDoc, col: ColumnDoc, fk_of: Mapping[str, ForeignKeyDoc]) -> bool:
    """Whether sample values tell the model more than the type: not for numeric or uuid keys ('1', '2',
    '3'), booleans, dates or timestamps, whose form the type already gives. Text keys (a SKU, a country
    code) keep theirs."""
    is_key = col.name in table.primary_key or col.name in fk_of
    return not (is_key and _OPAQUE_KEY.match(col.type)) and not _SELF_EVIDENT.match(col.type)


def _notes(table: TableDoc, col: ColumnDoc, fk_of: Mapping[str, ForeignKeyDoc], *, privacy: bool) -> str:
    """A column's comment and telling sample values, '' when it has neither."""
    notes = [col.comment] if col.comment else []
    if col.samples and not privacy and _teaches(table, col, fk_of):
        notes.append("e.g. " + ", ".join(repr(s[:SAMPLE_CHARS]) for s in col.samples[:5]))
    return "; ".join(notes)


def _detailed_block(table: TableDoc, *, privacy: bool) -> str:
    fk_of = _single_column_keys(table)
    lines = [_head(table)]
    for col in table.columns:
        line = "  " + _column(table, col, fk_of.get(col.name))
        if notes := _notes(table, col, fk_of, privacy=privacy):
            line += "  -- " + notes
        lines.append(line)
    lines.extend(f"  {key}" for key in _composite_keys(table))
    return "\n".join(lines)


def _brief_block(table: TableDoc, asked: Collection[str], *, privacy: bool) -> str:
    fk_of = _single_column_keys(table)
    columns = [_column(table, col, fk_of.get(col.name)) for col in table.columns]
    lines = [_head(table, rows=False), "  " + ", ".join([*columns, *_composite_keys(table)])]
    for col in table.columns:
        if col.name in asked and (notes := _notes(table, col, fk_of, privacy=privacy)):
            lines.append(f"  -- {col.name}: {notes}")
    return "\n".join(lines)
