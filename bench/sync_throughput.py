"""Throughput of a full first sync: Salesforce sandbox -> hub -> HubSpot sandbox, on SQLite and PostgreSQL.

    python bench/sync_throughput.py --records 100000     # the issue's target size
    python bench/sync_throughput.py --records 2000       # CI-sized check (about half a minute)

The Salesforce sandbox runs in a child process (its memory is not measured) seeded with N partner
Accounts and N/2 Opportunities; the HubSpot sandbox starts empty. The engine runs one full cycle
(pull, map, link, merge, outbox, push to HubSpot, write-back of ids to Salesforce) per database.
Then the same number of partner and deal rows is inserted raw (one executemany per table) into a
fresh database of the same kind. A second cycle reads back the first one's own writes (echoes, no
writes); a third has nothing new, but `sync.lookback_seconds` re-reads the records stamped that close
to the newest one (target: at most one call per stream). Prints records/s, CPU seconds per process
(the wall clock depends on the machine's load), peak RSS and, last,
`throughput_ratio=<raw insert time / sync time>` (target >= 0.5) of the slowest database.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from config import Settings
from sandbox.hubspot import HubSpotSandbox
from sync.engine import Engine
from sync.store import Store
from sync.store.migrate import upgrade
from sync.store.tables import DealRow, PartnerRow, new_id
from sync.systems import build_all

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("PARTNERSYNC_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextmanager
def database(kind: str) -> Iterator[str]:
    """A fresh, migrated database of `kind`, removed afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{folder}/bench.db"
            upgrade(url)
            yield url
        return
    name = f"partnersync_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Timing:
    """Wall seconds and the CPU seconds of this process's main thread (the other side of the machine's load)."""

    wall: float
    cpu: float


def raw_insert(kind: str, partners: int, deals: int) -> Timing:
    """The time to insert the same number of hub rows with one executemany per table."""
    with database(kind) as url:
        store = Store(url)
        started, cpu = time.perf_counter(), time.thread_time()
        with store.engine.begin() as conn:
            ids = [new_id() for _ in range(partners)]
            conn.execute(sa.insert(PartnerRow), [{"id": i, "name": f"Partner {n}", "website": f"p{n}.example"}
                                                 for n, i in enumerate(ids)])
            conn.execute(sa.insert(DealRow), [{"id": new_id(), "name": f"Deal {n}", "partner_id": ids[n % partners]}
                                              for n in range(deals)])
        timing = Timing(time.perf_counter() - started, time.thread_time() - cpu)
        store.dispose()
    return timing


def child_cpu(pid: int) -> float:
    """CPU seconds (user + system) a child process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cycle_calls(engine: Engine) -> str:
    reports = engine.cycle()
    calls = {f"{r.system}/{r.entity}": r.api_calls for r in reports}
    return f"calls per stream {calls}; writes {sum(r.records_out for r in reports)}"


def sync_once(kind: str, info: dict[str, str]) -> tuple[Timing, int]:
    """The first full cycle's time and the records through it; prints where the CPU went and the calls of
    the cycles after it.

    CPU: the engine is this process's main thread (its HTTP clients included), the HubSpot sandbox this
    process's other threads, the Salesforce sandbox the child process (PostgreSQL's server is not counted)."""
    # The HubSpot sandbox runs in this process (its memory counts); its limits are lifted because this
    # measures the engine, not HubSpot's 190 requests / 10 s (the worker's limiters enforce those).
    with database(kind) as url, HubSpotSandbox(window_limit=10**9, search_per_second=10**6) as hs:
        settings = Settings.model_validate({
            "database_url": url,
            "salesforce": {"instance_url": info["url"], "access_token": info["access_token"],
                           "verify_tls": info["ca_file"], "login_url": info["url"]},
            "hubspot": {"base_url": hs.url, "access_token": hs.access_token}, "erp": {"enabled": False}})
        store = Store(url)
        engine = Engine(store, settings, build_all(settings))
        engine.systems["hubspot"].connector.check_schema(create=True)  # type: ignore[call-arg]
        started, cpu, engine_cpu = time.perf_counter(), time.process_time(), time.thread_time()
        sf_cpu = child_cpu(int(info["pid"]))
        first = engine.cycle(full=True)
        timing = Timing(time.perf_counter() - started, time.thread_time() - engine_cpu)
        cpu = time.process_time() - cpu
        print(f"  {kind} first cycle: {timing.wall:.1f}s wall; CPU: engine {timing.cpu:.1f}s, HubSpot sandbox "
              f"{cpu - timing.cpu:.1f}s, Salesforce sandbox {child_cpu(int(info['pid'])) - sf_cpu:.1f}s")
        moved = sum(r.records_in + r.records_out for r in first)
        for r in first:
            print(f"  {kind} first  {r.system}/{r.entity}: in={r.records_in} out={r.records_out} "
                  f"errors={dict(r.errors)} calls={r.api_calls} status={r.status}"
              + (f" ({r.message})" if r.message else ""))
        print(f"  {kind} second cycle (reads back the first cycle's own writes as echoes): {cycle_calls(engine)}")
        print(f"  {kind} third cycle (nothing new; the lookback re-reads what is stamped within "
              f"{settings.sync.lookback_seconds}s of the newest record): {cycle_calls(engine)}")
        store.dispose()
    return timing, moved


@contextmanager
def sandbox(partners: int, deals: int) -> Iterator[dict[str, str]]:
    """A seeded Salesforce sandbox in a child process (its memory and seeding are not measured)."""
    child = subprocess.Popen([sys.executable, "-m", "sandbox.salesforce", "--accounts", str(partners),
                              "--opportunities", str(deals)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True, cwd=ROOT)
    try:
        assert child.stdout is not None
        yield {**json.loads(child.stdout.readline()), "pid": str(child.pid)}
    finally:
        if child.stdin:
            child.stdin.close()
        child.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000, help="partners to seed (deals: half as many)")
    parser.add_argument("--databases", default="sqlite,postgresql", help="comma list: sqlite, postgresql")
    args = parser.parse_args()
    partners, deals = args.records, args.records // 2
    ratios = []
    for kind in args.databases.split(","):
        with sandbox(partners, deals) as info:  # a fresh org per database: the first sync is a first sync
            sync, moved = sync_once(kind, info)
        raw = raw_insert(kind, partners, deals)
        ratios.append(raw.wall / sync.wall)
        print(f"{kind}: sync {sync.wall:.1f}s ({moved / sync.wall:.0f} records/s through the cycle; engine CPU "
              f"{sync.cpu:.1f}s, {moved / sync.cpu:.0f} records per CPU second), raw insert {raw.wall:.2f}s "
              f"(CPU {raw.cpu:.2f}s), ratio {ratios[-1]:.3f} (CPU ratio {raw.cpu / sync.cpu:.3f})")
    print(f"peak_rss_mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f}")
    print(f"throughput_ratio={min(ratios):.3f}")


if __name__ == "__main__":
    main()
