"""Every honest analytics query in the corpus runs on the demo data and returns rows, as JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from bizsql.auth.identity import Identity
from bizsql.cli import app
from bizsql.cli import sql as cli_sql
from bizsql.sql.executor import SqlExecutor
from bizsql.stores.business import BusinessConfig
from tests.corpora import Legit, legit_queries

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("query", legit_queries(), ids=lambda q: q.id)
async def test_legitimate_query_runs_and_returns_rows(
    query: Legit, executor: SqlExecutor, businesses: dict[str, BusinessConfig]
) -> None:
    analyst = Identity(username="analyst", role="analyst", business_id=query.business)
    result = await executor.run(query.sql, business=businesses[query.business], identity=analyst)
    assert result.row_count > 0
    assert result.columns
    assert json.loads(json.dumps(result.model_dump()))["rows"] == result.rows


def test_legitimate_query_through_the_cli_prints_rows(sql_env: dict[str, str], monkeypatch: Any) -> None:
    monkeypatch.setattr(cli_sql, "configure_logging", lambda *a, **k: None)
    sql = (
        "SELECT status, count(*) AS n FROM orders WHERE notes ILIKE '%drop off%' "
        "GROUP BY status ORDER BY status"
    )
    result = CliRunner().invoke(app, ["sql", "run", "--business", "acme_retail", sql], env=sql_env)
    assert result.exit_code == 0, result.stdout
    out = json.loads(result.stdout)
    assert set(out) == {"columns", "rows", "row_count", "truncated"}
    assert out["columns"] == ["status", "n"]
    assert out["row_count"] == len(out["rows"]) > 0
    assert out["truncated"] is False
