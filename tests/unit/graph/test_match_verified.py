"""The verified fast path must not answer a different question that merely reads the same."""

from __future__ import annotations

import pytest

from bizsql.retrieval.verified import same_specifics

VERIFIED = "What are the top 10 customers by total spend in 2024?"


@pytest.mark.parametrize(
    "question",
    [
        "what are the top 10 customers by total spend in 2024",
        "What are the top 10 customers by total spend in 2024 ?",
        "Show me the top 10 customers by total spend in 2024.",
    ],
)
def test_rephrasings_keep_the_same_specifics(question: str) -> None:
    assert same_specifics(question, VERIFIED)


def test_names_match_whatever_their_case() -> None:
    assert same_specifics("how many customers live in texas", "How many customers live in Texas?")
    assert not same_specifics("how many customers live in ohio", "How many customers live in Texas?")


@pytest.mark.parametrize(
    "question",
    [
        "What are the top 5 customers by total spend in 2024?",
        "What are the top 10 customers by total spend in 2023?",
        "What are the bottom 10 customers by total spend in 2024?",
        "What are the top 10 customers by total spend in 2024 in Texas?",
        "What are the top 10 customers by average spend in 2024?",
        "What are the top 10 customers by total spend in March 2024?",
        "What are the top 10 customers by total spend in 2024 excluding 'Acme Corp'?",
    ],
)
def test_a_changed_number_name_or_contrast_word_is_a_different_question(question: str) -> None:
    assert not same_specifics(question, VERIFIED)
