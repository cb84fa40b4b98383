"""The MCP server: in-process, over stdio as desktop clients run it, and over HTTP as the graph reaches it."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.shared.memory import create_connected_server_and_client_session
from mcp.types import TextContent

from bizsql.config import Settings
from bizsql.embedded import free_port
from bizsql.errors import SqlRejected, TenantDenied
from bizsql.stores.business import BusinessConfig
from bizsql.tools.executor import QueryResult, SqlExecutor
from bizsql.tools.mcp_client import McpSqlRunner
from bizsql.tools.mcp_server import build_mcp_server
from tests.integration.sql.conftest import ALICE, BOB

pytestmark = pytest.mark.integration

TOOLS = {"list_tables", "describe_table", "run_sql", "explain_sql"}
SELECT = "SELECT status, count(*) AS n FROM orders GROUP BY status ORDER BY status"


def _text(result: Any) -> str:
    return "".join(c.text for c in result.content if isinstance(c, TextContent))


async def test_in_process_client_lists_tools_and_runs_a_select(
    executor: SqlExecutor, businesses: dict[str, BusinessConfig]
) -> None:
    server = build_mcp_server(executor, businesses["acme_retail"], ALICE)
    async with create_connected_server_and_client_session(server) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert set(tools) == TOOLS
        assert tools["run_sql"].annotations is not None and tools["run_sql"].annotations.readOnlyHint

        result = await client.call_tool("run_sql", {"sql": SELECT})
        assert not result.isError
        assert result.structuredContent is not None
        assert result.structuredContent["columns"] == ["status", "n"]
        assert {row[0] for row in result.structuredContent["rows"]} >= {"delivered", "cancelled"}

        refused = await client.call_tool("run_sql", {"sql": "COMMIT; DROP SCHEMA public CASCADE"})
        assert refused.isError
        body = json.loads(_text(refused)[_text(refused).index("{") :])
        assert body == {"error": "sql_rejected", "reason": "only one statement per request"}


async def test_in_process_client_reads_the_schema(
    executor: SqlExecutor, businesses: dict[str, BusinessConfig]
) -> None:
    server = build_mcp_server(executor, businesses["acme_retail"], ALICE)
    async with create_connected_server_and_client_session(server) as client:
        listed = await client.call_tool("list_tables", {})
        assert listed.structuredContent is not None
        names = {t["name"] for t in listed.structuredContent["result"]}
        assert {"orders", "customers", "order_items"} <= names

        described = await client.call_tool("describe_table", {"table": "orders"})
        orders = described.structuredContent
        assert orders is not None and orders["primary_key"] == ["id"]
        assert {"columns": ["customer_id"], "ref_table": "customers", "ref_columns": ["id"]} in orders[
            "foreign_keys"
        ]

        missing = await client.call_tool("describe_table", {"table": "pg_authid"})
        assert missing.isError and "not_found" in _text(missing)

        plan = await client.call_tool("explain_sql", {"sql": "SELECT * FROM orders WHERE id = 1"})
        assert plan.structuredContent is not None and plan.structuredContent["estimated_cost"] > 0


async def test_stdio_server_lists_tools_and_runs_a_select(subprocess_env: dict[str, str]) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "bizsql.cli", "mcp", "--business", "acme_retail"],
        env=subprocess_env,
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        init = await session.initialize()
        assert init.serverInfo.name == "bizsql-acme_retail"
        assert {tool.name for tool in (await session.list_tools()).tools} == TOOLS
        result = await session.call_tool("run_sql", {"sql": "SELECT count(*) AS orders FROM orders"})
        assert not result.isError
        assert result.structuredContent is not None
        assert result.structuredContent["rows"][0][0] >= 50_000


@pytest.fixture(scope="module")
def http_server(subprocess_env: dict[str, str]) -> Iterator[str]:
    """`bizsql mcp --http PORT` in its own process, as an operator would run it for the graph."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bizsql.cli", "mcp", "--business", "acme_retail", "--http", str(port)],
        env=subprocess_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        _wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"bizsql mcp exited: {process.stderr.read().decode() if process.stderr else ''}"
            )
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"bizsql mcp did not listen on {port}")


async def test_http_client_runs_sql_with_the_executor_contract(
    http_server: str, businesses: dict[str, BusinessConfig]
) -> None:
    runner = McpSqlRunner(http_server)
    result = await runner.run(SELECT, business=businesses["acme_retail"], identity=ALICE)
    assert isinstance(result, QueryResult)
    assert result.columns == ["status", "n"] and result.row_count > 0 and result.kind == "read"
    assert set(await runner.list_tools(businesses["acme_retail"])) == TOOLS
    with pytest.raises(SqlRejected, match="pg_sleep"):
        await runner.run("SELECT pg_sleep(10)", business=businesses["acme_retail"], identity=ALICE)


async def test_http_client_refuses_to_ask_another_business_server(
    http_server: str, businesses: dict[str, BusinessConfig]
) -> None:
    runner = McpSqlRunner(http_server)
    with pytest.raises(TenantDenied, match="serves 'bizsql-acme_retail'"):
        await runner.run("SELECT count(*) FROM patients", business=businesses["city_clinic"], identity=BOB)
    with pytest.raises(TenantDenied):
        await runner.run(SELECT, business=businesses["acme_retail"], identity=BOB)


async def test_graph_uses_the_mcp_server_when_its_url_is_set(
    http_server: str, seeded: Settings, businesses: dict[str, BusinessConfig]
) -> None:
    from bizsql.graph.deps import build_deps

    in_process = build_deps(seeded)
    over_mcp = build_deps(seeded.model_copy(update={"mcp_url": http_server}))
    try:
        assert isinstance(in_process.executor, SqlExecutor)
        assert isinstance(over_mcp.executor, McpSqlRunner)
        local = await in_process.executor.run(SELECT, business=businesses["acme_retail"], identity=ALICE)
        remote = await over_mcp.executor.run(SELECT, business=businesses["acme_retail"], identity=ALICE)
        assert remote.rows == local.rows
    finally:
        await in_process.aclose()
        await over_mcp.aclose()


async def test_server_for_an_admin_is_named_after_the_business_it_serves(
    executor: SqlExecutor, businesses: dict[str, BusinessConfig]
) -> None:
    from bizsql.auth.identity import Identity

    admin = Identity(username="admin", role="admin", business_id="all")

    async def load() -> BusinessConfig:
        return businesses["city_clinic"]

    server = build_mcp_server(executor, load, admin, business_id="city_clinic")
    async with create_connected_server_and_client_session(server) as client:
        init = await client.initialize()
        assert init.serverInfo.name == "bizsql-city_clinic"
        result = await client.call_tool("run_sql", {"sql": "SELECT count(*) FROM patients"})
        assert result.structuredContent is not None and result.structuredContent["rows"][0][0] > 0
