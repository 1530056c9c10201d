"""One HTTP call with the shared retry policy: 5xx, timeouts and resets are retried, then TransientError.

Both ERP connectors send JSON through here; the caller reads the vendor's own error bodies from the
response it gets back (4xx and 429 are never retried here: they are answers, not accidents).
"""

import json
import re
from datetime import date
from decimal import Decimal
from typing import Any

import requests

from connectors.base import ApiUsage, ConnectorError
from connectors.retry import call_with_retries


class ServerError(Exception):
    """A 5xx answer, raised only so the retry policy sees it."""

    def __init__(self, response: requests.Response) -> None:
        super().__init__(f"HTTP {response.status_code} from {response.request.method} {response.url}")
        self.response = response


def _transient(error: BaseException) -> bool:
    return isinstance(error, ServerError | requests.ConnectionError | requests.Timeout
                      | requests.exceptions.ChunkedEncodingError)


_MARK = "\x00decimal:"
_MARKED = re.compile(r'"\\u0000decimal:(-?[0-9.]+)"')


def _decimal_default(value: object) -> object:
    if isinstance(value, Decimal):
        return f"{_MARK}{value:f}"
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(payload: Any) -> str:
    """JSON with Decimal amounts written digit for digit as numbers (never through a binary float), dates ISO."""
    return _MARKED.sub(r"\1", json.dumps(payload, default=_decimal_default, separators=(",", ":")))


def loads(text: str) -> Any:
    """JSON with every fractional number read as Decimal."""
    return json.loads(text, parse_float=Decimal)


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    usage: ApiUsage,
    timeout: float,
    attempts: int,
    describe: str,
    payload: Any = None,
    **kwargs: Any,
) -> requests.Response:
    """Send once per attempt; every attempt counts as an API call."""
    if payload is not None:
        kwargs["data"] = dumps(payload).encode()
        kwargs.setdefault("headers", {})["Content-Type"] = "application/json"

    def attempt() -> requests.Response:
        usage.calls += 1
        try:
            response = session.request(method, url, timeout=timeout, **kwargs)
        except requests.RequestException as error:
            if _transient(error):
                raise
            raise ConnectorError(f"{describe}: {type(error).__name__}: {error}") from error
        if response.status_code >= 500:
            raise ServerError(response)
        return response

    return call_with_retries(attempt, is_transient=_transient, attempts=attempts, describe=describe)
