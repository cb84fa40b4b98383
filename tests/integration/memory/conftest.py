"""Our own Valkey and SecantusDB servers, which these tests may flush, stop and restart at will.

The shared Redis on 6379 serves other people's test runs, so nothing here touches it. Servers come back on
the same port after a restart, so the savers' clients reconnect as they would in production.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import pytest
import redis
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.graph.state import CompiledStateGraph
from typing_extensions import TypedDict

from bizsql.checkpointers import AsyncRedisMongoSaver, RedisMongoSaver
from bizsql.embedded import SecantusServer, ValkeyServer, free_port

pytestmark = pytest.mark.integration

RETRY_SECONDS = 0.3
"""Short breaker back-off, so a test sees a restarted server without waiting long."""

Saver = AsyncRedisMongoSaver | RedisMongoSaver


def body(saver: Saver) -> AsyncRedisMongoSaver:
    """The saver whose internals a test may read: the async saver itself, or the one RedisMongoSaver runs."""
    return saver.async_saver if isinstance(saver, RedisMongoSaver) else saver


class Killable:
    """Teardown by SIGKILL: these servers' data is thrown away, so no need to wait for a clean stop."""

    process: Any

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


class FixedPortValkey(Killable, ValkeyServer):
    def __init__(self, data_dir: Path, port: int) -> None:
        super().__init__("valkey", data_dir)
        self.port = port

    def command(self, port: int) -> list[str]:
        return super().command(self.port)

    def url(self, port: int) -> str:
        return super().url(self.port)


class FixedPortSecantus(Killable, SecantusServer):
    def __init__(self, data_dir: Path, port: int) -> None:
        super().__init__("secantus", data_dir)
        self.port = port

    def command(self, port: int) -> list[str]:
        return super().command(self.port)

    def url(self, port: int) -> str:
        return super().url(self.port)


@dataclass
class Servers:
    """A Valkey and a SecantusDB that a test may stop and start again."""

    valkey: FixedPortValkey
    mongo: FixedPortSecantus
    redis_url: str
    mongo_url: str

    @classmethod
    def start(cls, base: Path) -> Servers:
        valkey = FixedPortValkey(base / "valkey", free_port())
        mongo = FixedPortSecantus(base / "secantus", free_port())
        return cls(valkey, mongo, valkey.start(), mongo.start())

    def stop(self) -> None:
        """Both stop cleanly, as in an outage (data kept for their restart)."""
        self.valkey.stop()
        self.mongo.stop()

    def kill(self) -> None:
        self.valkey.kill()
        self.mongo.kill()

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_url)


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """Shared by the tests that never stop them."""
    running = Servers.start(tmp_path_factory.mktemp("memory-servers"))
    yield running
    running.kill()


@pytest.fixture
def fault_servers(tmp_path: Path) -> Iterator[Servers]:
    """A fresh pair for one test that stops, restarts or flushes them."""
    running = Servers.start(tmp_path)
    yield running
    running.kill()


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def make_saver(kind: str, servers: Servers, **options: Any) -> Saver:
    """A sync or async saver on these servers; each test gets its own key prefix and database."""
    options = {"retry_seconds": RETRY_SECONDS, "db_name": "memory_tests", **options}
    cls = RedisMongoSaver if kind == "sync" else AsyncRedisMongoSaver
    redis_url = options.pop("redis_url", servers.redis_url)
    return cls.from_urls(redis_url, options.pop("mongo_url", servers.mongo_url), **options)


async def close(saver: Saver) -> None:
    if isinstance(saver, AsyncRedisMongoSaver):
        await saver.aclose()
    elif isinstance(saver, RedisMongoSaver):
        saver.close()


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    """Run a test against RedisMongoSaver and AsyncRedisMongoSaver."""
    return str(request.param)


class ChatState(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


def reply(state: ChatState) -> dict[str, list[AnyMessage]]:
    """Answers with the question number, so a lost turn shows in the next answer."""
    asked = sum(isinstance(m, HumanMessage) for m in state["messages"])
    return {"messages": [AIMessage(f"answer {asked}")]}


def chat_graph(saver: Saver) -> CompiledStateGraph[Any, Any, Any, Any]:
    builder = StateGraph(ChatState)
    builder.add_node("reply", reply)
    builder.add_edge(START, "reply")
    builder.add_edge("reply", END)
    return builder.compile(checkpointer=saver)


class Chat:
    """One conversation through the small graph, whichever saver class runs it."""

    def __init__(self, saver: Saver, thread_id: str | None = None) -> None:
        self.saver = saver
        self.graph = chat_graph(saver)
        self.thread_id = thread_id or unique("thread")
        self.config: Any = {"configurable": {"thread_id": self.thread_id}}

    async def ask(self, question: str) -> list[str]:
        """Send one question; the contents of every message of the thread afterwards."""
        update = {"messages": [HumanMessage(question)]}
        if isinstance(self.saver, AsyncRedisMongoSaver):
            state = await self.graph.ainvoke(update, self.config)
        else:
            state = self.graph.invoke(update, self.config)
        return [m.content for m in state["messages"]]

    async def messages(self) -> list[str]:
        if isinstance(self.saver, AsyncRedisMongoSaver):
            snapshot = await self.graph.aget_state(self.config)
        else:
            snapshot = self.graph.get_state(self.config)
        return [m.content for m in snapshot.values.get("messages", [])]


def transcript(*questions: str) -> list[str]:
    """What the thread should hold after these questions, in order."""
    return [part for i, q in enumerate(questions, 1) for part in (q, f"answer {i}")]


@pytest.fixture
async def saver(kind: str, servers: Servers) -> AsyncIterator[Saver]:
    made = make_saver(kind, servers, key_prefix=unique("ckpt"))
    yield made
    await close(made)
