"""`bizsql serve --workers N`: uvicorn's worker processes on one socket, fed the parent's resolved settings.

The parent starts (or attaches to) the servers and seeds; each worker builds the app from the environment
(``bizsql.server:create_worker_app``), so none starts servers of its own, and all of them sign and verify
tokens, and derive role passwords, with the same secrets. Rate limits, budgets and conversations live in
Redis and MongoDB, which the workers share.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from collections.abc import Iterator, Mapping

from uvicorn import Config
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess
from uvicorn.supervisors.multiprocess import SIGNALS

from bizsql.config import SERVER_URLS, Settings

WORKER_APP = "bizsql.server:create_worker_app"

log = logging.getLogger("uvicorn.error")


def worker_environment(resolved: Settings) -> dict[str, str]:
    """The variables that give every worker the parent's servers and secrets: the embedded servers' URLs
    exist only in the parent's settings, and a secret generated under the data directory is read once here,
    so a worker never races another to create it. A local model is started here, once, and its URL given
    to the workers: each starting its own would load the model N times onto the same cores."""
    assert all(getattr(resolved, key) for key in SERVER_URLS), "resolve the server URLs first"
    jwt_secret, role_secret = resolved.secret_values()
    env = {Settings.variable(key): str(getattr(resolved, key)) for key in SERVER_URLS}
    if resolved.llm_provider == "local":
        from bizsql.local_model import local_endpoint

        env[Settings.variable("llm_base_url")] = local_endpoint(resolved)
    return env | {
        Settings.variable("data_dir"): str(resolved.data_dir.resolve()),
        Settings.variable("jwt_secret"): jwt_secret,
        Settings.variable("role_secret"): role_secret,
    }


@contextlib.contextmanager
def exported(variables: Mapping[str, str]) -> Iterator[None]:
    """Set the variables for the block (uvicorn spawns workers, and restarts one that dies, from here)."""
    before = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class Supervisor(Multiprocess):
    """uvicorn's supervisor, except that SIGHUP ends it as it ends every bizsql command (a closed terminal
    stops the servers) instead of restarting the workers."""

    def handle_hup(self) -> None:
        log.info("Received SIGHUP, exiting.")
        self.should_exit.set()


def serve_workers(resolved: Settings, *, host: str, port: int, workers: int) -> bool:
    """Serve with ``workers`` processes until SIGINT, SIGTERM or SIGHUP, each stopped before this returns;
    False when a worker could not start (uvicorn then stops the others)."""
    config = Config(WORKER_APP, factory=True, host=host, port=port, workers=workers, log_config=None)
    handlers = {sig: signal.getsignal(sig) for sig in SIGNALS}
    with exported(worker_environment(resolved)), config.bind_socket() as sock:
        supervisor = Supervisor(config, sockets=[sock])
        try:
            supervisor.run()
        finally:  # uvicorn's handlers only queue signals for its loop, which has ended
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
    return all(process.exitcode != STARTUP_FAILURE for process in supervisor.processes)
