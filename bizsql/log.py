"""structlog set-up: one JSON line per event in production, readable lines on a terminal."""

from __future__ import annotations

import logging
import sys
import warnings

import structlog

SECRET_KEYS = frozenset(
    {"password", "token", "access_token", "refresh_token", "authorization", "api_key", "secret", "jwt"}
)


def redact_secrets(_: object, __: str, event: structlog.types.EventDict) -> structlog.types.EventDict:
    """A safety net: a field named like a credential is masked, whoever logged it."""
    for key in event.keys() & SECRET_KEYS:
        event[key] = "[redacted]"
    return event


def configure_logging(level: str = "INFO", *, json: bool | None = None) -> None:
    """Route stdlib and structlog through one processor chain; quiet the chatty embedded-server libraries."""
    use_json = (not sys.stderr.isatty()) if json is None else json
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer()
    )
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        redact_secrets,
        # `process` (the pid) tells apart the workers of `bizsql serve --workers N`, which share one log
        structlog.processors.CallsiteParameterAdder([structlog.processors.CallsiteParameter.PROCESS]),
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=False,  # reconfigurable (structlog.testing.capture_logs after a CLI run)
    )
    handler = logging.StreamHandler()
    tracebacks = [structlog.processors.format_exc_info] if use_json else []  # the console renders its own
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(processors=[
        structlog.stdlib.ProcessorFormatter.remove_processors_meta, *tracebacks, renderer,
    ], foreign_pre_chain=shared))  # fmt: skip
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("pgserver").setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
