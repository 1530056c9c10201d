"""The HTTP layer under simple-salesforce: counts every call, reads `Sforce-Limit-Info`, maps errors.

Salesforce has no 429: a spent daily allowance is 403 REQUEST_LIMIT_EXCEEDED, which stops the run
cleanly (`RateLimited`); 5xx, timeouts and resets are retried (connectors/retry.py).
"""

import json
import re
from typing import Any

import requests
from simple_salesforce.exceptions import SalesforceError, SalesforceGeneralError

from connectors.base import ApiUsage, ConnectorError, RateLimited

_USAGE = re.compile(r"(?:^|[^-])api-usage=(\d+)/(\d+)")
# Salesforce's allowance is a rolling 24 h window; nothing tells when calls free up again.
LIMIT_RETRY_AFTER = 900.0


class CountingSession(requests.Session):
    """A requests session that counts calls into `usage`, applies a default timeout and TLS trust."""

    def __init__(self, usage: ApiUsage, *, timeout: float, verify: bool | str) -> None:
        super().__init__()
        self.usage = usage
        self.timeout = timeout
        self.verify = verify

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        kwargs.setdefault("verify", self.verify)  # else REQUESTS_CA_BUNDLE in the environment wins
        self.usage.calls += 1
        response = super().request(method, url, *args, **kwargs)
        record_usage(self.usage, response.headers.get("Sforce-Limit-Info"))
        self.usage.read_clock(response.headers)
        return response


def record_usage(usage: ApiUsage, header: str | None) -> None:
    """`api-usage=18/5000` -> used 18 of 5000 (a per-app figure, if present, is not the org's)."""
    match = _USAGE.search(header or "")
    if match:
        usage.used, usage.limit = int(match[1]), int(match[2])
        usage.remaining = usage.limit - usage.used


def is_transient(error: BaseException) -> bool:
    if isinstance(error, requests.exceptions.SSLError):
        return False
    if isinstance(error, requests.ConnectionError | requests.Timeout):
        return True
    return isinstance(error, SalesforceGeneralError) and error.status >= 500


def error_body(error: SalesforceError) -> tuple[str, str]:
    """`(errorCode, message)` from Salesforce's `[{"errorCode": ..., "message": ...}]` error body."""
    content: Any = error.content
    if isinstance(content, bytes | str):
        try:
            content = json.loads(content)
        except ValueError:
            return "", str(content)[:200]
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return str(content[0].get("errorCode", "")), str(content[0].get("message", ""))
    if isinstance(content, dict):
        return str(content.get("errorCode", "")), str(content.get("message", ""))
    return "", ""


def translate(error: SalesforceError, describe: str) -> ConnectorError:
    """The connector error for a refused call (401 is handled by the caller: it re-authenticates)."""
    code, message = error_body(error)
    if error.status == 403 and code == "REQUEST_LIMIT_EXCEEDED":
        return RateLimited(f"salesforce {describe}: API limit reached ({message})", LIMIT_RETRY_AFTER)
    return ConnectorError(f"salesforce {describe}: HTTP {error.status} {code or 'error'}: {message}")
