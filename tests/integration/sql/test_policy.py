"""The function allowlist against the real server: no PostgreSQL function slips through unless we chose it."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
import pytest

from bizsql.sql.guard import check_sql
from bizsql.sql.policy import ALLOWED_FUNCTIONS

pytestmark = pytest.mark.integration

KEYWORD_SYNTAX = {"char", "interval", "jsonb_exists", "like"}
"""Names sqlglot reads as SQL syntax rather than a call (a cast, an operator); reviewed and harmless."""


def test_every_postgres_function_outside_the_allowlist_is_refused(
    superuser: psycopg.Connection[Any], caplog: pytest.LogCaptureFixture
) -> None:
    names = sorted({row[0] for row in superuser.execute("SELECT DISTINCT proname FROM pg_proc")})
    assert len(names) > 2000
    caplog.set_level(logging.ERROR, logger="sqlglot")
    slipped = {
        name
        for name in names
        if name not in ALLOWED_FUNCTIONS
        for args in ("", "1", "1, 2", "1, 2, 3")
        if check_sql(f"SELECT {name}({args})").allowed
    }
    assert slipped <= KEYWORD_SYNTAX, sorted(slipped - KEYWORD_SYNTAX)
