"""Generated writes wait for a yes: the graph's dry run, its pause, and each way it ends, on acme_retail."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from bizsql.config import Settings
from bizsql.graph.approval import pending_in
from bizsql.graph.interfaces import Deps
from bizsql.stores.business import BusinessConfig
from bizsql.stores.mongo import AUDIT_LOGS, mongo_client
from tests.integration.graph.conftest import Chat
from tests.support.stub_mistral import StubMistral, tool

pytestmark = pytest.mark.integration

IDS = (4242, 4243, 4244)
NOTE = "leave at the back door"
WRITE_SQL = (
    f"UPDATE orders SET notes = '{NOTE}' WHERE id BETWEEN 4242 AND 4244 AND notes IS DISTINCT FROM 'hold'"
)
QUESTION = "Set the note of orders 4242 to 4244 to 'leave at the back door'"


@pytest.fixture
def orders(graph_settings: Settings) -> Iterator[psycopg.Connection[Any]]:
    """The superuser on acme_retail; the edited orders get their seeded notes back afterwards."""
    assert graph_settings.postgres_url
    url = make_conninfo(graph_settings.postgres_url, dbname="acme_retail")
    with psycopg.connect(url, autocommit=True) as conn:
        seeded = conn.execute("SELECT id, notes FROM orders WHERE id = ANY(%s)", (list(IDS),)).fetchall()
        yield conn
        for order_id, note in seeded:
            conn.execute("UPDATE orders SET notes = %s WHERE id = %s", (note, order_id))


def notes(conn: psycopg.Connection[Any]) -> list[Any]:
    rows = conn.execute("SELECT notes FROM orders WHERE id = ANY(%s) ORDER BY id", (list(IDS),))
    return [row[0] for row in rows]


def audit(settings: Settings, sql: str) -> list[dict[str, Any]]:
    assert settings.mongo_url
    with mongo_client(settings.mongo_url) as client:
        return list(client[settings.mongo_db][AUDIT_LOGS].find({"sql": sql}, sort=[("at", 1)]))


def script_write(stub: StubMistral, sql: str = WRITE_SQL) -> None:
    stub.script(
        tool("Classification", intent="database", standalone_question=QUESTION, clarifying_question=""),
        tool("SqlDraft", sql=sql, confidence=0.9, explanation="as asked"),
    )


@pytest.fixture
def dave(deps: Deps, orders: psycopg.Connection[Any], request: pytest.FixtureRequest) -> Chat:
    """dave, acme_retail's editor, in a thread of his own per test."""
    return Chat(deps, user="dave", role="editor", thread=f"approve-{request.node.name}")


async def test_a_generated_write_pauses_after_its_dry_run_and_commits_exactly_those_rows_when_approved(
    dave: Chat, stub: StubMistral, orders: psycopg.Connection[Any], graph_settings: Settings
) -> None:
    before = notes(orders)
    script_write(stub)
    paused = await dave.ask(QUESTION)

    pending = pending_in(paused["__interrupt__"])
    assert pending is not None and pending["rows_affected"] == 3
    assert pending["columns"][:1] == ["id"] and [row[0] for row in pending["rows"]] == list(IDS)
    assert all(NOTE in row for row in pending["rows"]), "the sample shows the rows as changed"
    assert notes(orders) == before, "the dry run was rolled back"
    assert "answer" not in paused or not paused["answer"]

    done = await dave.decide(pending["approval_id"], "approve")
    assert notes(orders) == [NOTE] * 3
    assert (done["result"]["rows_affected"], done["approval"]["status"]) == (3, "approved")
    assert done["answer"] == "Done: 3 row(s) changed."
    docs = audit(graph_settings, WRITE_SQL)
    outcomes = [(d["outcome"], d["rows_affected"], d.get("approved_by")) for d in docs]
    assert outcomes[-2:] == [("dry_run", 3, None), ("committed", 3, "dave")]


async def test_a_rejected_write_changes_nothing_and_the_thread_and_the_audit_say_so(
    dave: Chat, stub: StubMistral, orders: psycopg.Connection[Any], graph_settings: Settings
) -> None:
    before = notes(orders)
    script_write(stub)
    pending = pending_in((await dave.ask(QUESTION))["__interrupt__"])
    assert pending is not None

    done = await dave.decide(pending["approval_id"], "reject")
    assert notes(orders) == before
    assert done["error"]["code"] == "write_rejected" and "__interrupt__" not in done
    said = done["messages"][-1].content
    assert said == "The write was not run: dave rejected the write; nothing was changed."
    last = audit(graph_settings, WRITE_SQL)[-1]
    assert (last["outcome"], last["rejected_by"], last.get("approved_by")) == ("rejected", "dave", None)


async def test_rows_changed_since_the_dry_run_roll_the_write_back_and_ask_again(
    dave: Chat, stub: StubMistral, orders: psycopg.Connection[Any], graph_settings: Settings
) -> None:
    script_write(stub)
    first = pending_in((await dave.ask(QUESTION))["__interrupt__"])
    assert first is not None and first["rows_affected"] == 3
    orders.execute("UPDATE orders SET notes = 'hold' WHERE id = 4244")  # someone else, meanwhile

    again = await dave.decide(first["approval_id"], "approve")
    second = pending_in(again["__interrupt__"])
    assert second is not None and second["approval_id"] != first["approval_id"]
    assert second["rows_affected"] == 2 and "not the 3 that were approved" in second["changed"]
    assert notes(orders)[:2] != [NOTE, NOTE], "the approved write was rolled back"
    assert audit(graph_settings, WRITE_SQL)[-2]["outcome"] == "rolled_back"

    stale = await dave.decide(first["approval_id"], "approve")  # the old id no longer decides anything
    assert pending_in(stale["__interrupt__"]) == second and notes(orders)[2] == "hold"
    done = await dave.decide(second["approval_id"], "approve")
    assert notes(orders) == [NOTE, NOTE, "hold"] and done["result"]["rows_affected"] == 2


async def test_someone_who_may_not_decide_leaves_the_write_waiting(
    dave: Chat, stub: StubMistral, orders: psycopg.Connection[Any]
) -> None:
    before = notes(orders)
    script_write(stub)
    pending = pending_in((await dave.ask(QUESTION))["__interrupt__"])
    assert pending is not None

    other_editor = await dave.decide(pending["approval_id"], "approve", user="erin", role="editor")
    assert pending_in(other_editor["__interrupt__"]) == pending and notes(orders) == before
    admin = await dave.decide(pending["approval_id"], "approve", user="admin", role="admin")
    assert notes(orders) == [NOTE] * 3 and admin["approval"]["decided_by"] == "admin"


async def test_a_business_that_trusts_its_automation_writes_without_asking(
    dave: Chat, stub: StubMistral, orders: psycopg.Connection[Any], deps: Deps
) -> None:
    configs = deps.configs

    class Trusting:
        async def get(self, business_id: str) -> BusinessConfig:
            config = await configs.get(business_id)
            return config.model_copy(update={"writes_need_approval": False})

    deps.configs = Trusting()
    try:
        script_write(stub)
        out = await dave.ask(QUESTION)
    finally:
        deps.configs = configs
    assert "__interrupt__" not in out and out["result"]["rows_affected"] == 3
    assert notes(orders) == [NOTE] * 3
    assert not any(call.startswith("dry run") for call in deps.executor.calls)
