"""`bizsql sql check`: a verdict as one JSON object, and an exit code scripts can branch on."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from bizsql.cli import app

runner = CliRunner()


def test_allowed_statement_prints_verdict_and_exits_0() -> None:
    result = runner.invoke(app, ["sql", "check", "--business", "acme_retail", "SELECT id FROM orders"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "allowed": True, "kind": "read", "reason": "allowed: a read statement", "tables": ["orders"],
        "retryable": False,
    }  # fmt: skip


def test_refused_statement_exits_3_with_the_reason() -> None:
    result = runner.invoke(app, ["sql", "check", "--business", "acme_retail", "COMMIT; DROP SCHEMA public"])
    assert result.exit_code == 3
    verdict = json.loads(result.stdout)
    assert verdict["allowed"] is False
    assert verdict["reason"] == "only one statement per request"


def test_writes_flag_lets_a_where_guarded_update_through() -> None:
    update = "UPDATE orders SET notes = 'x' WHERE id = 1"
    refused = runner.invoke(app, ["sql", "check", "-b", "acme_retail", update])
    allowed = runner.invoke(app, ["sql", "check", "-b", "acme_retail", "--writes", update])
    assert (refused.exit_code, allowed.exit_code) == (3, 0)
    assert json.loads(allowed.stdout)["kind"] == "write"


def test_statement_can_come_from_stdin() -> None:
    result = runner.invoke(app, ["sql", "check", "-b", "acme_retail", "-"], input="SELECT 1\n")
    assert result.exit_code == 0
