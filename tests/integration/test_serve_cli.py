"""`partnersync serve` and `card-link` as a user runs them: real processes, real HTTP, real Redis."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

EXE = Path(sys.executable).parent / "partnersync"


def env(workdir: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "PARTNERSYNC_DATABASE_URL": f"sqlite:///{workdir / 'hub.db'}", **extra}


def run(*args: str, workdir: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EXE), *args], cwd=workdir, env=env(workdir, **extra), capture_output=True, text=True,
                          timeout=120)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_serve_answers_healthz_with_redis_and_stops(workdir: Path, redis_url: str) -> None:
    assert run("db", "upgrade", workdir=workdir).returncode == 0
    port = free_port()
    server = subprocess.Popen([str(EXE), "serve", "--port", str(port)], cwd=workdir,
                              env=env(workdir, PARTNERSYNC_REDIS_URL=redis_url), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline, answer = time.monotonic() + 60, None
        while answer is None and time.monotonic() < deadline and server.poll() is None:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/healthz")
            except httpx.TransportError:
                time.sleep(0.2)
        assert answer is not None, server.stderr.read() if server.stderr else "no server"
        assert answer.status_code == 200 and answer.json() == {"status": "ok", "database": "ok", "redis": "ok"}
        assert httpx.get(f"http://127.0.0.1:{port}/").status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_serve_refuses_an_open_dashboard_beyond_loopback(workdir: Path) -> None:
    result = run("serve", "--host", "0.0.0.0", workdir=workdir)
    assert result.returncode == 2 and "web.username and web.password" in result.stderr
    assert "Traceback" not in result.stderr


def test_card_link_is_signed_and_needs_a_secret(workdir: Path) -> None:
    unset = run("card-link", "Account", "001ABC", workdir=workdir)
    assert unset.returncode == 2 and "web.card_secret" in unset.stderr
    result = run("card-link", "Account", "001ABC", "--hours", "2", workdir=workdir,
                 PARTNERSYNC_WEB__CARD_SECRET="s3cret", PARTNERSYNC_WEB__PUBLIC_URL="https://partnersync.example.com")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("https://partnersync.example.com/card/salesforce/Account/001ABC?expires=")
    assert "&sig=" in result.stdout and "s3cret" not in result.stdout
