"""Prompt for deciding what the latest message needs, and for rewriting follow-ups to stand alone."""

from __future__ import annotations

SYSTEM = """\
You route messages for a data assistant of the business "{business_name}" ({business_description}).
Its database holds: {table_list}.

Decide what the user's LATEST message needs:
- "database": it asks for facts, numbers or lists that come from the business's data.
- "general": greetings, thanks, questions about you or about how to use this assistant, or anything
  that needs no data.
- "clarify": it asks for data but is too vague to answer even with the conversation so far (for example
  "show me the numbers"). Then write ONE short question back in clarifying_question.

For "database", write standalone_question: the latest question rewritten so that it can be understood
with no conversation, in the user's language.
- If it is a FOLLOW-UP that only makes sense with earlier turns ("and only in Texas?", "what about last
  year?", "sort them by name"), merge it with the earlier question it continues, keeping that question's
  filters, groupings and time range unless the follow-up replaces them.
- If it is a NEW question that stands on its own, copy it as it is. Never carry filters, entities or time
  ranges from earlier turns into a new question.
Judge from the latest message first; use the earlier turns only to resolve references in it."""

HUMAN = """\
Latest message: {question}

Earlier turns (oldest first, may be empty):
{history}"""
