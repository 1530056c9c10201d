"""Crash safety and concurrency with real processes on real PostgreSQL/SQLite and Redis."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from sync.store import Store
from sync.store.tables import ExternalLinkRow, PartnerRow
from tests.filesystem import FileSystem
from tests.integration.engine_proc import WINDOW_LIMIT

ROOT = Path(__file__).resolve().parents[2]


def _proc(*args: str, redis_url: str | None = None, delay: str = "0") -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ENGINE_PROC_DELAY": delay}
    if redis_url:
        env["PARTNERSYNC_REDIS_URL"] = redis_url
    return subprocess.Popen([sys.executable, "-m", "tests.integration.engine_proc", *args], cwd=ROOT, env=env,
                            stderr=subprocess.PIPE)


def _exactly_once(store: Store, folder: Path, count: int) -> None:
    sf = FileSystem("salesforce", folder / "salesforce.json").snapshot()["data"]["partner"]
    hs = FileSystem("hubspot", folder / "hubspot.json").snapshot()["data"]["partner"]
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(PartnerRow)) == count
        assert s.scalar(select(func.count()).select_from(ExternalLinkRow)) == 2 * count
    for records in (sf, hs):
        assert len(records) == count
        hub_ids = [r.get("HubId") for r in records.values()]
        assert None not in hub_ids and len(set(hub_ids)) == count


def test_a_process_killed_mid_run_loses_and_duplicates_nothing(store: Store, tmp_path: Path) -> None:
    FileSystem("salesforce", tmp_path / "salesforce.json").seed("partner", 24)
    FileSystem("hubspot", tmp_path / "hubspot.json").seed("partner", 6)
    proc = _proc("cycle", store.url, str(tmp_path), delay="0.05")
    time.sleep(0.35 if store.engine.dialect.name == "sqlite" else 0.6)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    with store.session() as s:
        partial = s.scalar(select(func.count()).select_from(PartnerRow))
    assert partial is not None and partial < 30  # it really died mid-run

    for _ in range(2):
        done = _proc("cycle", store.url, str(tmp_path))
        assert done.wait(60) == 0, done.stderr.read().decode() if done.stderr else ""
    _exactly_once(store, tmp_path, 30)


def test_three_workers_on_the_same_streams(store: Store, tmp_path: Path, redis_url: str) -> None:
    FileSystem("salesforce", tmp_path / "salesforce.json").seed("partner", 9)
    FileSystem("hubspot", tmp_path / "hubspot.json").seed("partner", 6)
    procs = [_proc("worker", store.url, str(tmp_path), "2", redis_url=redis_url, delay="0.01") for _ in range(3)]
    for proc in procs:
        assert proc.wait(120) == 0, proc.stderr.read().decode() if proc.stderr else ""
    calls = [t for name in ("salesforce", "hubspot")
             for t in FileSystem(name, tmp_path / f"{name}.json").snapshot()["calls"]]
    assert max(Counter(int(t) for t in calls).values()) <= WINDOW_LIMIT  # one shared window across 3 processes
    done = _proc("cycle", store.url, str(tmp_path))
    assert done.wait(60) == 0
    _exactly_once(store, tmp_path, 15)

    for name in ("salesforce", "hubspot"):
        state = FileSystem(name, tmp_path / f"{name}.json").snapshot()
        pushes = Counter(state["pushes"])
        assert all(n == 1 for n in pushes.values()), "a record was pushed twice with the same content"
    for log in tmp_path.glob("cursors-*.log"):
        seen: dict[str, list[str]] = {}
        for line in log.read_text().splitlines():
            system, at, last = line.split()
            seen.setdefault(system, []).append(f"{at} {last}")
        for positions in seen.values():
            assert positions == sorted(positions), "a cursor moved backwards"
