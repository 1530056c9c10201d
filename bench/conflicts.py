"""Time to check one new deal registration against N stored ones (it must be an index lookup).

    python bench/conflicts.py --registrations 1000000                  # default; SQLite in a temp dir
    python bench/conflicts.py --registrations 20000                    # CI size
    python bench/conflicts.py --database-url postgresql://u@host/db    # an EMPTY database; it is migrated

Loads N registrations (about a third of customers registered by several partners, 1-2 product families
each, a mix of active, expired and rejected), then checks `--checks` new registrations one at a time, each
rolled back. Prints median and p99; the last line is `conflict_check_p99_ms=<ms>`.
"""

import argparse
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert
from sqlalchemy.orm import Session

from config.program import Registration
from mapping.names import name_key, phonetic_key
from sync.conflicts import check
from sync.store import Store
from sync.store.migrate import upgrade
from sync.store.tables import DealProductRow, DealRow, PartnerRow

SYLLABLES = ["ka", "lo", "mi", "ra", "ven", "tor", "bel", "sun", "dex", "qua", "zen", "pro", "vi", "nor", "tek",
             "lum", "cor", "ax", "fin", "gal", "hy", "jo", "ro", "sa", "tri", "ul", "wex", "yo"]
FAMILIES = ["firewall", "vpn", "storage", "backup", "analytics", "crm", "erp", "endpoint"]
COUNTRIES = ["US", "GB", "DE", "FR", "NL", "IT", "ES", "JP", "AU", "CA"]
STATUSES = ["approved"] * 5 + ["submitted"] * 3 + ["rejected", "expired"]
NOW = datetime.now(UTC)
BATCH = 10_000


def customer(rng: random.Random) -> tuple[str, str, str]:
    name = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()
    name = f"{name} {rng.choice(['Labs', 'Retail', 'Bank', 'Foods', 'Health', 'Motors'])} {rng.randrange(1000)}"
    return name, f"{name.split()[0].lower()}{rng.randrange(10**6)}.com", rng.choice(COUNTRIES)


def load(store: Store, count: int, rng: random.Random) -> list[tuple[str, str, str]]:
    customers = [customer(rng) for _ in range(max(1, count // 3))]
    with store.session() as s:
        s.execute(insert(PartnerRow), [{"id": f"p{i:05d}", "name": f"Partner {i}"} for i in range(500)])
    deals: list[dict[str, object]] = []
    products: list[dict[str, object]] = []
    for i in range(count):
        name, domain, country = rng.choice(customers)
        registered = NOW - timedelta(days=rng.randint(0, 200))
        deal_id = f"d{i:08d}"
        key = name_key(name)
        deals.append({
            "id": deal_id, "partner_id": f"p{rng.randrange(500):05d}", "name": f"deal {i}", "customer_name": name,
            "customer_key": key, "customer_phonetic": phonetic_key(key),
            "customer_domain": domain if rng.random() < 0.7 else None,
            "customer_country": country, "registration_status": rng.choice(STATUSES), "is_partner_deal": True,
            "stage": "open", "registered_at": registered, "expires_at": registered + timedelta(days=90),
            "conflict_flag": False, "sla_breached": False, "created_at": registered, "updated_at": registered,
        })
        for family in rng.sample(FAMILIES, rng.randint(1, 2)):
            products.append({"deal_id": deal_id, "product": f"{family}-x", "family": family, "quantity": 1})
        if len(deals) >= BATCH or i == count - 1:
            with store.session() as s:
                s.execute(insert(DealRow), deals)
                s.execute(insert(DealProductRow), products)
            deals, products = [], []
            print(f"loaded {i + 1}/{count}", end="\r", file=sys.stderr)
    print(file=sys.stderr)
    return customers


def measure(store: Store, customers: list[tuple[str, str, str]], checks: int,
            rng: random.Random) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds per check (CPU shows how much of the wall time was waiting for a core)."""
    rules = Registration()
    timings: list[float] = []
    cpu: list[float] = []
    for n in range(checks):
        name, domain, country = rng.choice(customers)
        with store.engine.connect() as conn, conn.begin() as tx:
            session = Session(bind=conn)
            deal = DealRow(id=f"new{n:06d}", partner_id="p00001", name="new", customer_name=name.upper(),
                           customer_domain=domain if n % 2 else None, customer_country=country,
                           registration_status="submitted", registered_at=NOW, is_partner_deal=True)
            session.add(deal)
            session.flush()
            session.add(DealProductRow(deal_id=deal.id, product="x", family=rng.choice(FAMILIES)))
            session.flush()
            # the CPU clock is a system call (a point where a busy machine may switch away): outside the wall
            started_cpu = time.process_time()
            started = time.perf_counter()
            check(session, rules, deal, NOW)
            timings.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
            session.close()
            tx.rollback()
    return timings, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--registrations", type=int, default=1_000_000)
    parser.add_argument("--checks", type=int, default=500)
    parser.add_argument("--database-url", default=None, help="an empty database (default: SQLite in a temp dir)")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        store = Store(url)
        started = time.perf_counter()
        customers = load(store, args.registrations, rng)
        with store.engine.begin() as conn:  # fresh statistics, as a live database has
            conn.exec_driver_sql("ANALYZE")
        load_s = time.perf_counter() - started
        wall, cpu = measure(store, customers, args.checks, rng)
        timings, cpu = sorted(wall), sorted(cpu)
        store.dispose()
    p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
    cpu_p99 = cpu[min(len(cpu) - 1, int(len(cpu) * 0.99))]
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"backend={url.split(':', 1)[0]} registrations={args.registrations} checks={len(timings)} "
          f"load_s={load_s:.1f} peak_rss_mb={rss_mb:.0f}")
    print(f"median_ms={statistics.median(timings):.3f} p99_ms={p99:.3f} max_ms={timings[-1]:.3f} "
          f"cpu_median_ms={statistics.median(cpu):.3f} cpu_p99_ms={cpu_p99:.3f} load_avg={os.getloadavg()[0]:.2f}")
    print(f"conflict_check_p99_ms={p99:.3f}")


if __name__ == "__main__":
    main()
