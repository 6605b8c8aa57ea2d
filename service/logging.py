"""structlog, configured once: JSON lines when not on a terminal, readable output on one."""

from __future__ import annotations

import logging
import sys

import structlog

_configured = False


class _CurrentStderr:
    """Whatever sys.stderr is when a line is written, not when logging was configured.

    A logger bound to the stream of the moment breaks once that stream is swapped and closed
    (a test runner capturing a command's output does exactly that).
    """

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(level: str = "info", fmt: str = "auto") -> None:
    global _configured
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    console = sys.stderr.isatty() if fmt == "auto" else fmt == "console"
    renderer = structlog.dev.ConsoleRenderer() if console else structlog.processors.JSONRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),
        cache_logger_on_first_use=not _configured,
    )
    _configured = True


def get_logger(name: str | None = None):
    return structlog.get_logger(name)
