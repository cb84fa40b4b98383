"""MCP over stdio ends one way, however the process is asked to end: stdin reaches its end.

The MCP SDK reads stdin in a worker thread that no cancellation interrupts, so a SIGTERM, SIGINT or
SIGHUP that raises in the main thread waits for the client's next line, and a client that kills the
server without closing the pipe leaves it (and the embedded servers it started) running. So while the
server runs, fd 0 is a pipe fed from the real stdin by a daemon thread, and a signal makes that thread
close the pipe: the SDK sees end-of-file, the session ends as if the client had hung up, and everything
the command started is stopped on the way out.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import threading
from collections.abc import Iterator

ENDING_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
POLL_SECONDS = 0.2


class Hangup:
    """Which signal ended the session, if one did (the command exits with 128 + its number)."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self.requested = threading.Event()


@contextlib.contextmanager
def stdin_ended_by_signals() -> Iterator[Hangup]:
    """Within the block, SIGTERM, SIGINT and SIGHUP end stdin instead of interrupting the process."""
    hangup = Hangup()
    real_stdin = os.dup(0)
    read_end, write_end = os.pipe()
    os.dup2(read_end, 0)
    os.close(read_end)

    def pump() -> None:
        """Copy the real stdin into the pipe until it ends or a signal asks; only this thread writes."""
        try:
            while not hangup.requested.is_set():
                ready, _, _ = select.select([real_stdin], [], [], POLL_SECONDS)
                if not ready:
                    continue
                chunk = os.read(real_stdin, 65536)
                if not chunk:
                    break
                os.write(write_end, chunk)
        except OSError:
            pass
        finally:
            os.close(write_end)

    def on_signal(signum: int, _frame: object) -> None:
        hangup.signal = hangup.signal or signum
        hangup.requested.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in ENDING_SIGNALS}
    thread = threading.Thread(target=pump, name="mcp-stdin", daemon=True)
    thread.start()
    try:
        yield hangup
    finally:
        hangup.requested.set()
        thread.join(POLL_SECONDS * 5)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        os.close(real_stdin)
