"""structlog configured once: JSON lines on stderr, with run id, system, entity and record ids bound by callers.

Secrets are SecretStr and print as `**********`; as a last guard every value of every line is also scrubbed
of the configured secret values (an error from a system could echo a request back).
"""

import logging
import sys
from collections.abc import Iterator, MutableMapping
from typing import Any

import structlog
from pydantic import BaseModel, SecretStr

MASK = "**********"
_secrets: set[str] = set()


def _stderr_logger(*_args: object) -> structlog.PrintLogger:
    """A logger on the *current* sys.stderr: a stream swapped since configure (tests, embedding) still works."""
    return structlog.PrintLogger(sys.stderr)


def hide_secrets(model: BaseModel) -> None:
    """Remember every secret value in `model` (settings) so no log line ever shows it."""
    _secrets.update(value for value in _secret_values(model) if len(value) >= 4)


def _secret_values(value: Any) -> Iterator[str]:
    if isinstance(value, SecretStr):
        yield value.get_secret_value()
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _secret_values(getattr(value, name))
    elif isinstance(value, dict):
        for item in value.values():
            yield from _secret_values(item)


def _scrub(_logger: object, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    if _secrets:
        for key, value in event.items():
            event[key] = masked(value)
    return event


def masked(value: Any) -> Any:
    """`value` with every remembered secret replaced (strings, and those inside dicts and lists): the last
    guard for log lines, stored run messages and what pages show."""
    if isinstance(value, str):
        for secret in _secrets:
            value = value.replace(secret, MASK)
        return value
    if isinstance(value, dict):
        return {k: masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [masked(v) for v in value]
    return value


def configure(level: str = "INFO", *, json: bool = True) -> None:
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, structlog.processors.add_log_level,
                    structlog.processors.TimeStamper(fmt="iso", utc=True), _scrub, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping().get(level.upper(), 20)),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
