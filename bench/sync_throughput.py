"""Throughput of a full first sync: Salesforce sandbox -> hub -> HubSpot sandbox, on SQLite and PostgreSQL.

    python bench/sync_throughput.py --records 100000     # the issue's target size
    python bench/sync_throughput.py --records 2000       # CI-sized check (about half a minute)

The Salesforce sandbox runs in a child process (its memory is not measured) seeded with N partner
Accounts and N/2 Opportunities; the HubSpot sandbox starts empty. The engine runs one full cycle
(pull, map, link, merge, outbox, push to HubSpot, write-back of ids to Salesforce) per database.
Then the same number of partner and deal rows is inserted raw (one executemany per table) into a
fresh database of the same kind. After `sync.lookback_seconds` (scheduled runs are minutes apart), a
second cycle reads back the first one's own writes (echoes, no writes); a third has nothing new (target:
at most one call per stream). Then the same transfer runs with no hub at all (the connectors alone,
into a fresh HubSpot sandbox): the floor no engine can beat here, printed as the best reachable ratio.
Prints records/s, CPU seconds per process (the wall clock depends on the machine's load), peak RSS
and, last, `throughput_ratio=<raw insert time / sync time>` (target >= 0.5) of the slowest database.
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
from connectors.base import Cursor
from connectors.hubspot import HubSpotConnector
from connectors.salesforce import SalesforceConnector
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


def sandbox_settings(url: str, info: dict[str, str], hs: HubSpotSandbox) -> Settings:
    return Settings.model_validate({
        "database_url": url,
        "salesforce": {"instance_url": info["url"], "access_token": info["access_token"],
                       "verify_tls": info["ca_file"], "login_url": info["url"]},
        "hubspot": {"base_url": hs.url, "access_token": hs.access_token}, "erp": {"enabled": False}})


@dataclass
class Floor:
    """What no engine can avoid here: the transfer itself, and validating each record read once."""

    transfer: float
    calls: int
    validation: float
    records: int


def api_floor(info: dict[str, str]) -> Floor:
    """The first cycle's transfer with no hub at all: read every account and opportunity from Salesforce,
    create them in an empty HubSpot sandbox (deals associated to their partner), stamp our ids back on the
    Salesforce records; through the same connectors and sandboxes. Apart, the time to validate each record
    read once against the unified model (what quarantining bad records needs at least)."""
    with HubSpotSandbox(window_limit=10**9, search_per_second=10**6) as hs:
        settings = sandbox_settings("sqlite://", info, hs)
        sf, hub = SalesforceConnector(settings.salesforce), HubSpotConnector(settings.hubspot)
        hub.check_schema(create=True)
        started, calls = time.perf_counter(), hub.usage.calls
        accounts = [r for page in sf.pull("partner", Cursor()) for r in page.records]
        deals = [r for page in sf.pull("deal", Cursor()) for r in page.records]
        ours = {r["Id"]: new_id() for r in [*accounts, *deals]}
        made = {r.key: r.external_id for r in hub.push("partner", [
            {"partnersync_id": ours[a["Id"]], "name": a["Name"], "domain": a.get("Website"), "phone": a.get("Phone"),
             "city": a.get("BillingCity"), "country": a.get("BillingCountry")} for a in accounts])}
        hub.push("deal", [{"partnersync_id": ours[d["Id"]], "dealname": d["Name"], "amount": str(d.get("Amount") or 0),
                           "closedate": d.get("CloseDate"),
                           "partner_company_id": made.get(ours.get(d.get("PartnerAccountId") or "", ""))}
                          for d in deals])
        for entity, rows in (("partner", accounts), ("deal", deals)):
            sf.push(entity, [{"Id": r["Id"], "PartnerSync_Id__c": ours[r["Id"]]} for r in rows])
        transfer = time.perf_counter() - started
        maps, validating = build_all(settings)["salesforce"].maps, time.perf_counter()
        for entity, rows in (("partner", accounts), ("deal", deals)):
            for row in rows:
                maps[entity].model.model_validate(maps[entity].to_values(row))
        return Floor(transfer, sf.usage.calls + hub.usage.calls - calls, time.perf_counter() - validating,
                     len(accounts) + len(deals))


def sync_once(kind: str, info: dict[str, str]) -> tuple[Timing, int]:
    """The first full cycle's time and the records through it; prints where the CPU went and the calls of
    the cycles after it.

    CPU: the engine is this process's main thread (its HTTP clients included), the HubSpot sandbox this
    process's other threads, the Salesforce sandbox the child process (PostgreSQL's server is not counted)."""
    # The HubSpot sandbox runs in this process (its memory counts); its limits are lifted because this
    # measures the engine, not HubSpot's 190 requests / 10 s (the worker's limiters enforce those).
    with database(kind) as url, HubSpotSandbox(window_limit=10**9, search_per_second=10**6) as hs:
        settings = sandbox_settings(url, info, hs)
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
        # Scheduled runs are minutes apart; this waits just the lookback, so the next read begins that long
        # after the last write (on the sandboxes' clocks) and the run after it starts at its cursor.
        time.sleep(settings.sync.lookback_seconds + 1)
        print(f"  {kind} second cycle (reads back the first cycle's own writes as echoes): {cycle_calls(engine)}")
        print(f"  {kind} third cycle (nothing new; target: one call per stream): {cycle_calls(engine)}")
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
            floor = api_floor(info)
        raw = raw_insert(kind, partners, deals)
        ratios.append(raw.wall / sync.wall)
        print(f"{kind}: sync {sync.wall:.1f}s ({moved / sync.wall:.0f} records/s through the cycle; engine CPU "
              f"{sync.cpu:.1f}s, {moved / sync.cpu:.0f} records per CPU second), raw insert {raw.wall:.2f}s "
              f"(CPU {raw.cpu:.2f}s), ratio {ratios[-1]:.3f} (CPU ratio {raw.cpu / sync.cpu:.3f})")
        least = floor.transfer + floor.validation
        print(f"{kind}: with no hub, the same transfer (connectors and sandboxes only, {floor.calls} calls) takes "
              f"{floor.transfer:.2f}s, and validating each of the {floor.records} records read once "
              f"{floor.validation:.2f}s ({floor.validation / floor.records * 1e6:.0f} us a record; the raw insert "
              f"{raw.wall / floor.records * 1e6:.0f} us a row): the best ratio any engine could reach here is "
              f"{raw.wall / least:.3f}; the engine's own cost is {sync.wall - least:.1f}s "
              f"({(sync.wall - least) / floor.records * 1000:.2f} ms a record)")
    print(f"peak_rss_mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f}")
    print(f"throughput_ratio={min(ratios):.3f}")


if __name__ == "__main__":
    main()
