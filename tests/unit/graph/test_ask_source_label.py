"""`bizsql ask`'s status line names what answered: a turn with no SQL and no LLM call is `source=none`."""

from __future__ import annotations

from typing import Any

import pytest

from bizsql.cli.graph import _print_turn
from bizsql.graph.state import TURN_DEFAULTS

NO_CALLS = {"input_tokens": 0, "output_tokens": 0, "calls": 0}


def status_line(capsys: pytest.CaptureFixture[str], out: dict[str, Any]) -> str:
    _print_turn({**TURN_DEFAULTS, **out}, "t1", 0.1)
    return " ".join(capsys.readouterr().err.split())


def test_an_unanswered_turn_is_labelled_none_not_llm(capsys: pytest.CaptureFixture[str]) -> None:
    out = {"intent": "unavailable", "answer": "No LLM is configured ...", "usage": NO_CALLS,
           "error": {"code": "llm_unavailable", "detail": "no LLM"}}  # fmt: skip
    line = status_line(capsys, out)
    assert "source=none" in line and "llm_calls=0" in line


def test_a_verified_answer_is_labelled_verified(capsys: pytest.CaptureFixture[str]) -> None:
    out = {"sql": "SELECT 1", "source": "verified", "usage": NO_CALLS}
    assert "source=verified" in status_line(capsys, out)


def test_sql_the_llm_wrote_is_labelled_llm(capsys: pytest.CaptureFixture[str]) -> None:
    out = {"sql": "SELECT 1", "source": "llm", "usage": {**NO_CALLS, "calls": 3}}
    assert "source=llm" in status_line(capsys, out)


def test_a_general_answer_the_llm_wrote_is_labelled_llm(capsys: pytest.CaptureFixture[str]) -> None:
    out = {"intent": "general", "answer": "Hello!", "usage": {**NO_CALLS, "calls": 2}}
    assert "source=llm" in status_line(capsys, out)
