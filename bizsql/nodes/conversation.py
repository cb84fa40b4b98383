"""The conversation as prompt text: the latest question, the earlier turns, and data kept apart.

Everything that came from a person or a database (questions, answers, rows, errors) reaches a prompt
inside a labelled data block, never as instructions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import cast

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage

from bizsql.graph.state import State
from bizsql.prompts import data
from bizsql.stores.conversations import META_KEY
from bizsql.stores.conversations import last_messages as window

_DATA_TAG = re.compile(r"<(?=\s*/?\s*data\b)", re.IGNORECASE)


def latest_question(state: State) -> str:
    for message in reversed(state.get("messages", [])):
        if isinstance(message, HumanMessage):
            return message.text.strip()
    return ""


def last_messages(messages: Sequence[AnyMessage], n: int) -> list[AnyMessage]:
    """The last ``n`` messages before the current question (the question itself is passed apart),
    starting on a user message (the conversation store's window)."""
    earlier = list(messages)
    if earlier and isinstance(earlier[-1], HumanMessage):
        earlier = earlier[:-1]
    return cast(list[AnyMessage], window(earlier, n))


def data_block(source: str, text: str) -> str:
    """``text`` in one labelled data block; a ``<data>`` or ``</data>`` tag inside it is defused
    (``&lt;/data>``), so no value can close the block early and carry on as instructions."""
    return data.BLOCK.format(source=source, text=_DATA_TAG.sub("&lt;", text))


def transcript(messages: Sequence[AnyMessage]) -> str:
    """Earlier turns as one data block, with the SQL of past answers (so follow-ups can build on it):
    answers repeat row values and error text, which are data, never instructions."""
    lines = []
    for message in messages:
        if isinstance(message, HumanMessage):
            lines.append(f"User: {message.text.strip()}")
        elif isinstance(message, AIMessage):
            lines.append(f"Assistant: {message.text.strip()}")
            meta = message.additional_kwargs.get(META_KEY) or {}
            steps = meta.get("steps") or []
            for number, step in enumerate(steps, start=1):  # a plan: every step, so "the second" resolves
                if step.get("sql"):
                    lines.append(
                        f"  (step {number}, {step.get('question', '')}: {' '.join(step['sql'].split())})"
                    )
            if meta.get("sql") and not steps:
                lines.append(f"  (SQL used: {' '.join(meta['sql'].split())})")
    return data_block(data.CONVERSATION, "\n".join(lines) or "(none)")
