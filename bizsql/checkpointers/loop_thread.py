"""An event loop in a daemon thread, so blocking code can call async code that is bound to one loop.

``RedisMongoSaver`` keeps one: the asyncio clients of the saver it wraps belong to that loop, so every
call, sync or async, runs there. The thread is a daemon, so a saver nobody closed never keeps the process
alive; ``stop`` ends it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog

log = structlog.get_logger(__name__)

T = TypeVar("T")

STOP_SECONDS = 10.0
"""How long ``stop`` waits for the loop's last step (closing the clients) before it gives up waiting."""


async def _awaited(make: Callable[[], Awaitable[T]]) -> T:
    """Makes the awaitable on the loop itself, so none is left un-awaited when scheduling fails."""
    return await make()


def call_on(loop: asyncio.AbstractEventLoop, make: Callable[[], Awaitable[T]]) -> T:
    """Run ``make()`` on ``loop`` (which runs in another thread) and block until it is done."""
    return asyncio.run_coroutine_threadsafe(_awaited(make), loop).result()


class LoopThread:
    """A running event loop of its own thread; ``run`` blocks on it, ``arun`` awaits it from another loop."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._last: Callable[[], Awaitable[object]] | None = None
        self._stopping = False
        self._lock = threading.Lock()
        """Orders submissions against ``stop``: nothing is submitted once the loop is stopping."""
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    @property
    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def run(self, make: Callable[[], Awaitable[T]]) -> T:
        """Run ``make()`` on the loop and block until it is done (never from the loop's own thread)."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("a blocking call from the loop's own thread would wait for itself")
        try:
            return self._submit(make).result()
        except concurrent.futures.CancelledError:
            raise self._closed_meanwhile() from None

    async def arun(self, make: Callable[[], Awaitable[T]]) -> T:
        """Await ``make()`` run on this loop, from any other loop (cancelling the caller cancels it)."""
        try:
            return await asyncio.wrap_future(self._submit(make))
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if not self._stopping or (task is not None and task.cancelling()):
                raise  # the caller was cancelled: that is theirs to handle
            raise self._closed_meanwhile() from None

    def _closed_meanwhile(self) -> RuntimeError:
        """A call still running when the saver closed is cut off: say so, not "cancelled", which a caller
        (langgraph, anyio) would take for its own run being cancelled."""
        return RuntimeError(f"{self._thread.name} stopped while this call ran (the saver was closed)")

    def stop(self, last: Callable[[], Awaitable[object]] | None = None) -> None:
        """Stop the loop once ``last()`` (closing what belongs to it) has run there. Idempotent, and safe
        from any thread (from the loop's own, it does not wait)."""
        with self._lock:
            if self._stopping:
                return
            self._stopping, self._last = True, last
            self.loop.call_soon_threadsafe(self.loop.stop)
        if threading.current_thread() is not self._thread:
            self._thread.join(STOP_SECONDS)
            if self._thread.is_alive():
                log.warning("event loop thread did not stop in time", thread=self._thread.name)

    def _submit(self, make: Callable[[], Awaitable[T]]) -> concurrent.futures.Future[T]:
        with self._lock:
            if self._stopping:
                raise RuntimeError(f"{self._thread.name} is stopped (the saver was closed)")
            return asyncio.run_coroutine_threadsafe(_awaited(make), self.loop)

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
            if self._last is not None:
                try:
                    self.loop.run_until_complete(self._last())
                except Exception as exc:  # the loop must still close
                    log.warning("closing on the event loop thread failed", error=str(exc))
            leftovers = asyncio.all_tasks(self.loop)
            for task in leftovers:
                task.cancel()
            self.loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        finally:
            self.loop.close()
