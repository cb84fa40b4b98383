"""`bizsql ask` and `bizsql index` as a user runs them, against the test session's servers."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from bizsql.config import Settings
from tests.integration.graph.conftest import query
from tests.support.stub_mistral import StubMistral, prompt_text, text, tool

pytestmark = pytest.mark.integration


def bizsql(settings: Settings, *args: str, llm: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bizsql.cli", *args],
        env=cli_env(settings, llm), capture_output=True, text=True, timeout=180,
    )  # fmt: skip


def cli_env(settings: Settings, llm: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BIZSQL_", "MISTRAL_"))}
    env |= {
        "BIZSQL_POSTGRES_URL": str(settings.postgres_url), "BIZSQL_REDIS_URL": str(settings.redis_url),
        "BIZSQL_MONGO_URL": str(settings.mongo_url), "BIZSQL_MONGO_DB": settings.mongo_db,
        "BIZSQL_ROLE_SECRET": "test-role-secret", "BIZSQL_JWT_SECRET": "test-jwt-secret-that-is-long-enough",
        "BIZSQL_DATA_DIR": str(settings.data_dir), "BIZSQL_LOG_LEVEL": "WARNING", "HF_HUB_OFFLINE": "1",
    }  # fmt: skip
    if llm:
        env |= {"MISTRAL_API_KEY": "test-key", "MISTRAL_BASE_URL": llm}
    return env


async def test_ask_answers_a_verified_question_without_an_llm(graph_settings: Settings) -> None:
    verified = "How many customers live in Texas?"
    done = bizsql(graph_settings, "ask", "--business", "acme_retail", "--as", "alice", "--json", verified)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert (out["source"], out["intent"]) == ("verified", "database")
    assert out["result"]["rows"] == query(graph_settings, "acme_retail", out["sql"])

    table = bizsql(graph_settings, "ask", "-b", "acme_retail", "--as", "alice", verified)
    assert table.returncode == 0, table.stderr
    assert "Answered with the verified query" in table.stdout
    assert "SELECT" in table.stdout and "1 row(s)" in table.stdout


async def test_ask_refuses_another_business_and_an_unknown_user(graph_settings: Settings) -> None:
    other = bizsql(graph_settings, "ask", "-b", "city_clinic", "--as", "alice", "How many doctors are there?")
    assert other.returncode == 2
    assert "alice may not query business 'city_clinic'" in other.stderr
    nobody = bizsql(graph_settings, "ask", "-b", "acme_retail", "--as", "mallory", "hi")
    assert nobody.returncode != 0
    assert "no user 'mallory'" in nobody.stderr


async def test_ask_continues_a_thread_across_runs(graph_settings: Settings, stub: StubMistral) -> None:
    thread = "cli-thread-continues"
    first = bizsql(graph_settings, "ask", "-b", "acme_retail", "--as", "alice", "--thread", thread,
                   "How many customers live in Texas?", llm=stub.url)  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert stub.requests == [], "a verified question needs no LLM even with a key"

    rewrite = "How many customers live in Texas and are in the gold tier?"
    stub.script(
        tool("Classification", intent="database", standalone_question=rewrite, clarifying_question=""),
        tool("SqlDraft", sql="SELECT count(*) FROM customers WHERE state = 'TX' AND loyalty_tier = 'gold'",
             confidence=0.9, explanation="gold customers in Texas"),
        text("Some of them are gold."),
    )  # fmt: skip
    second = bizsql(graph_settings, "ask", "-b", "acme_retail", "--as", "alice", "--thread", thread, "--json",
                    "and only gold tier ones?", llm=stub.url)  # fmt: skip
    assert second.returncode == 0, second.stderr
    assert "User: How many customers live in Texas?" in prompt_text(stub.requests[0])
    assert json.loads(second.stdout)["question"] == rewrite


async def test_index_rebuilds_one_business(graph_settings: Settings) -> None:
    done = bizsql(graph_settings, "index", "--business", "city_clinic")
    assert done.returncode == 0, done.stderr
    assert "city_clinic" in done.stdout and "11" in done.stdout
    folders = list(Path(graph_settings.data_dir, "indexes", "city_clinic").iterdir())
    assert len(folders) == 1 and (folders[0] / "index.faiss").exists()


def ask_on_a_terminal(settings: Settings, llm: str, answer: str, *args: str) -> tuple[str, str]:
    """`bizsql ask` with a terminal for its input (a pseudo-terminal), typing ``answer`` at its prompt."""
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bizsql.cli", "ask", *args],
            env=cli_env(settings, llm) | {"COLUMNS": "200"},
            stdin=follower, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        os.write(leader, f"{answer}\n".encode())
        out, err = proc.communicate(timeout=180)
    finally:
        os.close(follower)
        os.close(leader)
    assert proc.returncode == 0, err
    return out, err


@pytest.mark.parametrize(("answer", "changed"), [("y", True), ("n", False)])
async def test_ask_puts_a_generated_write_to_the_terminal_and_runs_it_only_on_yes(
    graph_settings: Settings, stub: StubMistral, answer: str, changed: bool
) -> None:
    question = "Note 'cli yes' on order 4320"
    write = "UPDATE orders SET notes = 'cli yes' WHERE id = 4320"
    before = query(graph_settings, "acme_retail", "SELECT notes FROM orders WHERE id = 4320")
    stub.script(
        tool("Classification", intent="database", standalone_question=question),
        tool("SqlDraft", sql=write, confidence=0.9, explanation="the note"),
    )
    try:
        out, _ = ask_on_a_terminal(
            graph_settings, stub.url, answer, "-b", "acme_retail", "--as", "dave", question
        )
        after = query(graph_settings, "acme_retail", "SELECT notes FROM orders WHERE id = 4320")
    finally:
        restore(graph_settings, before[0][0])
    assert "Run this write?" in out and "1 row(s) would change" in out
    assert after == ([["cli yes"]] if changed else before)
    assert ("1 row(s) changed" in out) is changed


async def test_ask_without_a_terminal_leaves_the_write_waiting_and_says_how_to_approve(
    graph_settings: Settings, stub: StubMistral
) -> None:
    question = "Note 'cli later' on order 4321"
    before = query(graph_settings, "acme_retail", "SELECT notes FROM orders WHERE id = 4321")
    stub.script(
        tool("Classification", intent="database", standalone_question=question),
        tool("SqlDraft", sql="UPDATE orders SET notes = 'cli later' WHERE id = 4321", confidence=0.9,
             explanation="the note"),
    )  # fmt: skip
    done = bizsql(graph_settings, "ask", "-b", "acme_retail", "--as", "dave", question, llm=stub.url)
    assert done.returncode == 0, done.stderr
    assert "POST /chat/approve" in done.stderr and '"decision": "approve"' in done.stderr
    assert query(graph_settings, "acme_retail", "SELECT notes FROM orders WHERE id = 4321") == before


def restore(settings: Settings, note: object, order: int = 4320) -> None:
    import psycopg

    assert settings.postgres_url
    url = psycopg.conninfo.make_conninfo(settings.postgres_url, dbname="acme_retail")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE orders SET notes = %s WHERE id = %s", (note, order))
