"""Fault switches and a call log shared by every sandbox.

A sandbox app wraps itself in `FaultMiddleware(app, faults)`; tests and the demo flip switches on
`faults` (inject a status with the vendor's own error body and headers, slow responses) and read
`faults.calls` to count requests per endpoint and per time window.
"""

import asyncio
import re
import threading
import time
from dataclasses import dataclass, field

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass
class Fault:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1
    path: str | None = None
    method: str | None = None
    delay: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method != method:
            return False
        return self.path is None or re.search(self.path, path) is not None


@dataclass
class Call:
    at: float
    method: str
    path: str
    status: int


class Faults:
    """Thread-safe: tests run in one thread, the sandbox server in another."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.delay = 0.0
        self.calls: list[Call] = []

    def inject(self, status: int, *, body: bytes | str = b"", headers: dict[str, str] | None = None,
               times: int = 1, path: str | None = None, method: str | None = None, delay: float = 0.0) -> None:
        """Answer the next `times` matching requests with `status` (delay > 0 and status 0: slow only)."""
        data = body.encode() if isinstance(body, str) else body
        with self._lock:
            self._faults.append(Fault(status, data, headers or {}, times, path, method, delay))

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self.delay = 0.0

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def record(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self.calls.append(Call(time.monotonic(), method, path, status))

    def count(self, path: str | None = None, method: str | None = None) -> int:
        with self._lock:
            return sum(
                1 for c in self.calls
                if (path is None or re.search(path, c.path)) and (method is None or c.method == method)
            )

    def reset_calls(self) -> None:
        with self._lock:
            self.calls.clear()


class FaultMiddleware:
    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        fault = self.faults.take(method, path)
        delay = self.faults.delay + (fault.delay if fault else 0.0)
        if delay:
            await asyncio.sleep(delay)
        status_seen: list[int] = []

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_seen.append(message["status"])
            await send(message)

        if fault is not None and fault.status:
            response = Response(fault.body, status_code=fault.status, headers=fault.headers,
                                media_type="application/json")
            await response(scope, receive, send_wrapper)
        else:
            await self.app(scope, receive, send_wrapper)
        self.faults.record(method, path, status_seen[0] if status_seen else 0)

