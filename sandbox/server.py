"""Run a sandbox's ASGI app on a free local port in a background thread, over HTTP or TLS.

TLS uses a certificate from a local throwaway CA (trustme): clients that always build `https://` URLs
(simple-salesforce) talk to the sandbox unchanged, verifying against `ca_file`.
"""

import socket
import tempfile
import threading
import time
from email.utils import formatdate
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import trustme
import uvicorn


def dated(app: Any) -> Any:
    """The app with a `Date` header read at each response, as the vendors' servers send it; uvicorn's own
    is refreshed once a second by its event loop, so it can lag the records' stamps by over a second."""

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        async def send_dated(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                stamp = formatdate(usegmt=True).encode()
                message = {**message, "headers": [*message.get("headers", []), (b"date", stamp)]}
            await send(message)

        await app(scope, receive, send_dated)

    return wrapped


class SandboxServer:
    """`with SandboxServer(app, tls=True) as server: server.url` — stopped on exit."""

    def __init__(self, app: Any, *, tls: bool = False, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.tls = tls
        self.host = host
        self._port = port
        self._tmp = tempfile.TemporaryDirectory(prefix="partnersync-sandbox-")
        self.ca_file: str | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self._port}"

    def start(self) -> Self:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Inherited by accepted connections: without it a response written as headers + body waits ~40 ms
        # for the client's delayed ACK (Nagle), on every call.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((self.host, self._port))
        self._port = sock.getsockname()[1]
        options: dict[str, Any] = {}
        if self.tls:
            options = self._certificates()
        config = uvicorn.Config(dated(self.app), log_level="warning", lifespan="off", access_log=False,
                                timeout_keep_alive=30, date_header=False, **options)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True,
                                        name=f"sandbox-{self._port}")
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"sandbox on port {self._port} did not start")
            time.sleep(0.01)
        return self

    def _certificates(self) -> dict[str, Any]:
        ca = trustme.CA()
        cert = ca.issue_cert(self.host, "localhost")
        folder = Path(self._tmp.name)
        self.ca_file = str(folder / "ca.pem")
        ca.cert_pem.write_to_path(self.ca_file)
        cert.private_key_pem.write_to_path(str(folder / "key.pem"))
        cert.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
        for extra in cert.cert_chain_pems[1:]:
            extra.write_to_path(str(folder / "cert.pem"), append=True)
        return {"ssl_certfile": str(folder / "cert.pem"), "ssl_keyfile": str(folder / "key.pem")}

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._server.force_exit = True  # don't wait for clients' idle keep-alive (TLS) connections
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._tmp.cleanup()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()


class Served:
    """An emulator behind its own `SandboxServer`: start/stop it, or use it as a context manager."""

    server: SandboxServer

    def start(self) -> Self:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return self.server.url
