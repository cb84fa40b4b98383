"""The MCP server in-process and over stdio, as desktop clients run it (HTTP: test_mcp_http.py)."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.shared.memory import create_connected_server_and_client_session
from mcp.types import TextContent

from bizsql.auth.identity import Identity
from bizsql.mcp.server import ConfigLoader, build_mcp_server
from bizsql.sql.executor import SqlExecutor
from bizsql.stores.business import BusinessConfig
from tests.integration.sql.conftest import ALICE

pytestmark = pytest.mark.integration

TOOLS = {"list_tables", "describe_table", "run_sql", "explain_sql"}
SELECT = "SELECT status, count(*) AS n FROM orders GROUP BY status ORDER BY status"


def _text(result: Any) -> str:
    return "".join(c.text for c in result.content if isinstance(c, TextContent))


def _configs(businesses: dict[str, BusinessConfig]) -> ConfigLoader:
    async def load(business_id: str) -> BusinessConfig:
        return businesses[business_id]

    return load


async def test_in_process_client_lists_tools_and_runs_a_select(
    executor: SqlExecutor, businesses: dict[str, BusinessConfig]
) -> None:
    server = build_mcp_server(executor, _configs(businesses), ALICE, business_id="acme_retail")
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
    server = build_mcp_server(executor, _configs(businesses), ALICE, business_id="acme_retail")
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


async def test_server_for_an_admin_is_named_after_the_business_it_serves(
    executor: SqlExecutor, businesses: dict[str, BusinessConfig]
) -> None:
    admin = Identity(username="admin", role="admin", business_id="all")
    server = build_mcp_server(executor, _configs(businesses), admin, business_id="city_clinic")
    async with create_connected_server_and_client_session(server) as client:
        init = await client.initialize()
        assert init.serverInfo.name == "bizsql-city_clinic"
        result = await client.call_tool("run_sql", {"sql": "SELECT count(*) FROM patients"})
        assert result.structuredContent is not None and result.structuredContent["rows"][0][0] > 0
        other = await client.call_tool("run_sql", {"sql": SELECT, "business": "acme_retail"})
        assert other.structuredContent is not None and other.structuredContent["columns"] == ["status", "n"]


async def test_a_stdio_user_names_only_their_own_business(
    executor: SqlExecutor, businesses: dict[str, BusinessConfig]
) -> None:
    server = build_mcp_server(executor, _configs(businesses), ALICE, business_id="acme_retail")
    async with create_connected_server_and_client_session(server) as client:
        refused = await client.call_tool("list_tables", {"business": "city_clinic"})
        assert refused.isError
        body = json.loads(_text(refused)[_text(refused).index("{") :])
        assert body == {"error": "forbidden", "reason": "user 'alice' may not access business 'city_clinic'"}


async def test_a_stdio_user_acts_only_as_themselves(
    executor: SqlExecutor, businesses: dict[str, BusinessConfig]
) -> None:
    """No tool names its user: an ``as_user`` argument is no such argument, and the call stays alice's."""
    server = build_mcp_server(executor, _configs(businesses), ALICE, business_id="acme_retail")
    async with create_connected_server_and_client_session(server) as client:
        tools = (await client.list_tools()).tools
        assert all("as_user" not in tool.inputSchema["properties"] for tool in tools)
        as_bob = await client.call_tool(
            "run_sql", {"sql": "SELECT count(*) FROM patients", "business": "city_clinic", "as_user": "bob"}
        )
        body = json.loads(_text(as_bob)[_text(as_bob).index("{") :])
        assert body == {"error": "forbidden", "reason": "user 'alice' may not access business 'city_clinic'"}
