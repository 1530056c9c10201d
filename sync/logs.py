"""structlog configured once: JSON lines on stderr, with run id, system, entity and record ids bound by callers."""

import logging
import sys

import structlog


def _stderr_logger(*_args: object) -> structlog.PrintLogger:
    """A logger on the *current* sys.stderr: a stream swapped since configure (tests, embedding) still works."""
    return structlog.PrintLogger(sys.stderr)


def configure(level: str = "INFO", *, json: bool = True) -> None:
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, structlog.processors.add_log_level,
                    structlog.processors.TimeStamper(fmt="iso", utc=True), renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping().get(level.upper(), 20)),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
