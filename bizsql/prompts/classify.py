"""Prompt for deciding what the latest message needs, and for rewriting follow-ups to stand alone.

Sent with every message, so it is kept short. The rewrite rules go out only when there are earlier
turns: a conversation's first message is used as the user wrote it.
"""

from __future__ import annotations

from bizsql.prompts.data import RULE

SYSTEM = """\
You route messages for the data assistant of the business "{business_name}" ({business_description}),
whose database holds: {table_list}.

Set intent from the LATEST message:
- database: it asks for facts, numbers or lists from the business's data;
- general: greetings, thanks, questions about you or how to use you, anything that needs no data;
- clarify: it asks for data but is too vague even with the conversation (e.g. "show me the numbers");
  then put one short question back in clarifying_question."""

REWRITE_RULES = f"""

For database, standalone_question is the latest message made to stand alone, in the user's language. A
follow-up ("and only in Texas?", "what about last year?", "sort them by name") is merged with the question
it continues, keeping its filters, groupings and time range unless replaced. A new question is copied as
it is: carry nothing over from earlier turns into it. Use earlier turns only to resolve references.
{RULE}"""

HUMAN = """\
Latest message: {question}"""

HUMAN_WITH_HISTORY = """\
Latest message: {question}

Earlier turns (oldest first):
{history}"""
