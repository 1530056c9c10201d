"""Cost of reading the hub's health as it grows: `status`, alert evaluation and a /metrics scrape.

    python bench/health.py --runs 1000000                              # ~a year of 5-minute runs of 10 streams
    python bench/health.py --runs 50000                                # CI size
    python bench/health.py --database-url postgresql://u@host/db       # an EMPTY database; it is migrated

Loads N sync runs over 10 streams (a few failed, a few dead letters), open quarantine and outbox rows,
API usage reports and `--deals` deal registrations (about 2% past the approval SLA), then times each read
`--repeat` times. Prints the median of each; the last line is `metrics_scrape_ms=<ms>`.
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prometheus_client import generate_latest
from sqlalchemy import insert

from config import Settings
from sync.alerts import evaluate
from sync.health import streams
from sync.logs import configure
from sync.store import Store
from sync.store.migrate import upgrade
from sync.store.tables import ApiUsageRow, DealRow, OutboxRow, SyncErrorRow, SyncRunRow, new_id
from web.metrics import registry

STREAMS = [(s, e) for s in ("salesforce", "hubspot") for e in ("partner", "deal")] + [
    ("netsuite", "partner"), ("netsuite", "payout"), ("odoo", "partner"), ("odoo", "payout"),
    ("salesforce", "payout"), ("hubspot", "payout")]
NOW = datetime.now(UTC)
BATCH = 10_000


def load(store: Store, runs: int, deals: int, rng: random.Random) -> None:
    per_stream = runs // len(STREAMS)
    rows = []
    for system, entity in STREAMS:
        for i in range(per_stream):
            started = NOW - timedelta(minutes=5 * (per_stream - i))
            status = rng.choices(["success", "failed", "rate_limited", "dead_letter"], [96, 2, 1.5, 0.5])[0]
            rows.append({"id": new_id(), "system": system, "entity": entity, "mode": "incremental", "status": status,
                         "started_at": started, "finished_at": started + timedelta(seconds=20),
                         "records_in": rng.randrange(200), "records_out": rng.randrange(50),
                         "errors": {"validation": rng.randrange(3)}, "api_calls": rng.randrange(1, 20),
                         "duration_ms": rng.randrange(500, 20_000), "newest_change_at": None, "lag_seconds": 0})
    with store.session() as session:
        for start in range(0, len(rows), BATCH):
            session.execute(insert(SyncRunRow), rows[start:start + BATCH])
        session.execute(insert(SyncErrorRow), [
            {"system": s, "entity": e, "category": "validation", "message": "bad", "raw_payload": {},
             "status": rng.choice(["open", "resolved"]), "direction": "in", "attempts": 1, "created_at": NOW,
             "updated_at": NOW, "last_attempt_at": NOW} for s, e in rng.choices(STREAMS, k=2000)])
        session.execute(insert(OutboxRow), [
            {"system": s, "entity": e, "hub_id": new_id(), "operation": "upsert", "payload": {}, "payload_hash": "h",
             "status": rng.choice(["pending", "sent", "sent", "sent"]), "attempts": 0, "created_at": NOW}
            for s, e in rng.choices(STREAMS, k=20_000)])
        session.execute(insert(ApiUsageRow), [
            {"system": s, "recorded_at": NOW - timedelta(minutes=i), "window": "daily", "used": i * 10,
             "limit": 100_000, "calls": 5} for s in ("salesforce", "hubspot") for i in range(runs // 20)])
        for start in range(0, deals, BATCH):
            session.execute(insert(DealRow), [
                {"id": new_id(), "name": f"Deal {n}", "stage": "open", "is_partner_deal": True,
                 "registration_status": rng.choices(["approved", "submitted", "rejected"], [80, 15, 5])[0],
                 "registered_at": NOW - timedelta(hours=rng.choice([1, 5, 20]) if rng.random() > 0.1 else 60),
                 "conflict_flag": False, "sla_breached": False, "created_at": NOW, "updated_at": NOW}
                for n in range(start, min(start + BATCH, deals))])


def median_ms(repeat: int, action: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--deals", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    configure("ERROR")  # the first evaluation fires many alerts: their log events are not the point here
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{os.path.join(tmp, 'hub.db')}"
        upgrade(url)
        store, settings = Store(url), Settings()
        started = time.perf_counter()
        load(store, args.runs, args.deals, random.Random(7))
        print(f"loaded {args.runs} runs, {args.deals} deals on {store.engine.dialect.name} "
              f"in {time.perf_counter() - started:.1f} s")
        fired = len(evaluate(store, settings))
        print(f"first evaluation fired {fired} alerts")
        status_ms = median_ms(args.repeat, lambda: streams(store, settings))
        evaluate_ms = median_ms(args.repeat, lambda: evaluate(store, settings))
        reg = registry(store, settings)
        scrape_ms = median_ms(args.repeat, lambda: generate_latest(reg))
        store.dispose()
    print(f"streams (status) median: {status_ms:.1f} ms")
    print(f"alert evaluation median: {evaluate_ms:.1f} ms")
    print(f"metrics_scrape_ms={scrape_ms:.1f}")


if __name__ == "__main__":
    main()
