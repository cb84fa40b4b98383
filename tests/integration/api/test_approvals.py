"""A generated write over HTTP: /chat answers approval_required, and POST /chat/approve decides it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from bizsql.config import Settings
from bizsql.stores.mongo import AUDIT_LOGS, mongo_client
from tests.integration.api.conftest import MakeUser, login, serve
from tests.support.stub_mistral import StubMistral, tool

pytestmark = pytest.mark.integration

Headers = dict[str, dict[str, str]]
IDS = [4301, 4302, 4303]
NOTE = "ring twice"
WRITE_SQL = f"UPDATE orders SET notes = '{NOTE}' WHERE id BETWEEN 4301 AND 4303"
QUESTION = "Note 'ring twice' on orders 4301 to 4303"


@pytest.fixture
def orders(api_settings: Settings) -> Iterator[psycopg.Connection[Any]]:
    """The superuser on acme_retail; the edited orders get their seeded notes back afterwards."""
    assert api_settings.postgres_url
    url = make_conninfo(api_settings.postgres_url, dbname="acme_retail")
    with psycopg.connect(url, autocommit=True) as conn:
        seeded = conn.execute("SELECT id, notes FROM orders WHERE id = ANY(%s)", (IDS,)).fetchall()
        yield conn
        for order_id, note in seeded:
            conn.execute("UPDATE orders SET notes = %s WHERE id = %s", (note, order_id))


def notes(conn: psycopg.Connection[Any]) -> list[Any]:
    return [row[0] for row in conn.execute("SELECT notes FROM orders WHERE id = ANY(%s) ORDER BY id", (IDS,))]


def audit(settings: Settings) -> list[dict[str, Any]]:
    assert settings.mongo_url
    with mongo_client(settings.mongo_url) as client:
        return list(client[settings.mongo_db][AUDIT_LOGS].find({"sql": WRITE_SQL}, sort=[("at", 1)]))


async def ask_to_write(
    client: httpx.AsyncClient, headers: dict[str, str], llm: StubMistral
) -> dict[str, Any]:
    llm.script(
        tool("Classification", intent="database", standalone_question=QUESTION),
        tool("SqlDraft", sql=WRITE_SQL, confidence=0.9, explanation="the note, on three orders"),
    )
    response = await client.post("/chat", json={"message": QUESTION}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["intent"] == "approval_required", body
    return body


async def decide(
    client: httpx.AsyncClient, headers: dict[str, str], paused: dict[str, Any], decision: str
) -> httpx.Response:
    body = {"thread_id": paused["thread_id"], "approval_id": paused["approval"]["approval_id"],
            "decision": decision}  # fmt: skip
    return await client.post("/chat/approve", json=body, headers=headers)


async def test_approving_commits_exactly_the_dry_run_rows_and_the_audit_names_the_approver(
    client: httpx.AsyncClient, headers: Headers, llm: StubMistral, orders: Any, api_settings: Settings
) -> None:
    before = notes(orders)
    paused = await ask_to_write(client, headers["dave"], llm)
    assert paused["sql"] == WRITE_SQL and paused["approval"]["rows_affected"] == 3
    assert [row[0] for row in paused["rows"]] == IDS and paused["columns"][0] == "id"
    assert paused["approval"]["status"] == "pending" and paused["approval"]["asked_by"] == "dave"
    assert notes(orders) == before, "nothing changes before the approval"

    response = await decide(client, headers["dave"], paused, "approve")
    assert response.status_code == 200, response.text
    done = response.json()
    assert (done["intent"], done["answer"], done["error"]) == ("database", "Done: 3 row(s) changed.", None)
    assert done["approval"]["status"] == "approved" and done["approval"]["decided_by"] == "dave"
    changed = orders.execute("SELECT id FROM orders WHERE notes = %s ORDER BY id", (NOTE,)).fetchall()
    assert [row[0] for row in changed] == [row[0] for row in paused["rows"]]
    committed = audit(api_settings)[-1]
    assert (committed["outcome"], committed["approved_by"], committed["rows_affected"]) == (
        "committed",
        "dave",
        3,
    )

    again = await decide(client, headers["dave"], paused, "approve")
    assert (again.status_code, again.json()["error"]) == (409, "approval_conflict")


async def test_rejecting_changes_nothing_and_the_thread_and_the_audit_record_it(
    client: httpx.AsyncClient, headers: Headers, llm: StubMistral, orders: Any, api_settings: Settings
) -> None:
    before = notes(orders)
    paused = await ask_to_write(client, headers["dave"], llm)
    response = await decide(client, headers["dave"], paused, "reject")
    assert response.status_code == 200, response.text
    assert response.json()["error"]["code"] == "write_rejected"
    assert notes(orders) == before
    last = audit(api_settings)[-1]
    assert (last["outcome"], last["rejected_by"]) == ("rejected", "dave")
    thread = (await client.get(f"/conversations/{paused['thread_id']}", headers=headers["dave"])).json()
    assert [m["content"] for m in thread["messages"]] == [
        QUESTION,
        "The write was not run: dave rejected the write; nothing was changed.",
    ]


async def test_a_strangers_decision_is_refused_with_403_and_the_write_still_waits(
    client: httpx.AsyncClient, headers: Headers, llm: StubMistral, orders: Any, make_user: MakeUser
) -> None:
    before = notes(orders)
    paused = await ask_to_write(client, headers["dave"], llm)
    other_editor = await login(client, await make_user("editor"))
    for stranger in (other_editor, headers["alice"], headers["bob"]):
        response = await decide(client, stranger, paused, "approve")
        assert (response.status_code, response.json()["error"]) == (403, "forbidden"), response.text
    told_bob = (await decide(client, headers["bob"], paused, "approve")).json()["detail"]
    assert "dave" not in told_bob, "another business's user learns nothing of who asked"
    assert notes(orders) == before
    admin = await decide(client, headers["admin"], paused, "approve")  # an admin of the business may
    assert admin.status_code == 200 and admin.json()["approval"]["decided_by"] == "admin"
    assert notes(orders) == [NOTE] * 3


async def test_an_expired_approval_is_refused_with_409_and_the_thread_is_closed(
    api_settings: Settings, llm: StubMistral, orders: Any, make_user: MakeUser
) -> None:
    before = notes(orders)
    editor = await make_user("editor")
    async with serve(api_settings.model_copy(update={"approval_ttl_seconds": 1})) as client:
        headers = await login(client, editor)
        paused = await ask_to_write(client, headers, llm)
        await asyncio.sleep(1.2)
        response = await decide(client, headers, paused, "approve")
        assert response.status_code == 409
        assert response.json()["error"] == "approval_expired"
        assert (
            "expired at" in response.json()["detail"] and "nothing was changed" in response.json()["detail"]
        )
        assert notes(orders) == before and audit(api_settings)[-1]["outcome"] == "expired"
        thread = (await client.get(f"/conversations/{paused['thread_id']}", headers=headers)).json()
        assert thread["messages"][-1]["content"].startswith("The write was not run: nobody approved")


async def test_the_approval_works_after_the_service_restarts(
    api_settings: Settings, llm: StubMistral, orders: Any, make_user: MakeUser
) -> None:
    """The pending write lives in the thread's checkpoint, not in the process that asked."""
    editor = await make_user("editor")
    async with serve(api_settings) as first:
        headers = await login(first, editor)
        paused = await ask_to_write(first, headers, llm)
    async with serve(api_settings) as second:
        response = await decide(second, headers, paused, "approve")
        assert response.status_code == 200, response.text
        assert response.json()["approval"]["status"] == "approved"
    assert notes(orders) == [NOTE] * 3


async def test_the_stream_ends_with_the_paused_write_and_langserve_returns_it_pending(
    client: httpx.AsyncClient, headers: Headers, llm: StubMistral, orders: Any
) -> None:
    from tests.integration.api.conftest import sse_events

    before = notes(orders)
    script = [
        tool("Classification", intent="database", standalone_question=QUESTION),
        tool("SqlDraft", sql=WRITE_SQL, confidence=0.9, explanation="the note, on three orders"),
    ]
    llm.script(*script)
    streamed = await client.post("/chat/stream", json={"message": QUESTION}, headers=headers["dave"])
    events = sse_events(streamed.text)
    nodes = [data["node"] for kind, data in events if kind == "node"]
    assert "propose_write" in nodes and "execute" not in nodes
    kind, final = events[-1]
    assert kind == "final" and final["intent"] == "approval_required", final
    assert final["approval"]["rows_affected"] == 3 and final["sql"] == WRITE_SQL

    llm.script(*script)
    body = {"input": {"messages": [{"type": "human", "content": QUESTION}]}, "config": {"configurable": {}}}
    invoked = await client.post("/graph/invoke", json=body, headers=headers["dave"])
    assert invoked.status_code == 200, invoked.text
    pending = invoked.json()["output"]["pending_write"]  # LangServe returns the state, as checkpointed
    assert pending["sql"] == WRITE_SQL and pending["rows_affected"] == 3 and pending["asked_by"] == "dave"
    assert notes(orders) == before, "a paused write changes nothing, however it was asked"
