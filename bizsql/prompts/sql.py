"""Prompts for writing one PostgreSQL query, and for fixing it after a database error.

Every word here is paid on every question, so the rules are terse, sections that would be empty are
left out (``section``), and what the tool schema already says (confidence, explanation) is not repeated.
"""

from __future__ import annotations

SYSTEM = """\
You write PostgreSQL for the business "{business_name}": ONE {statement_kind} statement that answers the
question.
- Use only the tables and columns below; join on the foreign keys shown; qualify columns in joins.
- Return readable columns (names, not only ids) with clear aliases. ORDER BY when the question implies
  an order, LIMIT for a top N. At most {row_cap} rows are shown: aggregate for totals and trends.
- Dates: date_trunc, intervals, CURRENT_DATE; never assume today's date.
- {data_rule}
{sections}"""

SECTION = "\n{title}:\n{body}\n"
SCHEMA = "\n{block}\n"
"""The schema section: its data block's label is its title."""
GLOSSARY = "Business glossary"
INSTRUCTIONS = "Business instructions"
EXAMPLES = "Verified examples (questions with SQL a person checked)"
EARLIER_STEPS = (
    "Earlier steps of this question (use their values as literals, an IN list or a VALUES list, or reuse "
    "their SQL as a subquery; never temporary tables)"
)

HUMAN = """\
Question: {question}"""

HUMAN_WITH_HISTORY = """\
Recent conversation (context only: the question below is complete, so add no filter from these turns
that it does not state):
{history}

Question: {question}"""

RETRY = """\
Your previous query failed (refused by the SQL check, or by the database):
{failure}

Write a corrected query for the same question. Check each table and column against the schema."""

FAILURE = """\
{sql}

Error: {error}"""


def section(title: str, body: str) -> str:
    """One titled block of the system prompt, or nothing when there is nothing to say."""
    return SECTION.format(title=title, body=body) if body.strip() else ""
