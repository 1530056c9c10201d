"""Time to check one new deal registration against N stored ones (it must be an index lookup).

    python bench/conflicts.py --registrations 1000000                  # default; SQLite in a temp dir
    python bench/conflicts.py --registrations 20000                    # CI size
    python bench/conflicts.py --database-url postgresql://u@host/db    # an EMPTY database; it is migrated
    python bench/conflicts.py --database-url sqlite:////tmp/c.db --reuse   # load once, then measure again

Loads N registrations (about a third of customers registered by several partners, 1-2 product families
each, a mix of active, expired and rejected), then checks `--checks` new registrations one at a time, each
rolled back. Prints median and p99; the last line is `conflict_check_p99_ms=<ms>`.

`--reuse` keeps what an earlier run with the same `--registrations` and `--seed` loaded into
`--database-url` (checked: the row count and the first and last generated deals must match) and only
migrates, analyzes (PostgreSQL only, as its autovacuum would; nothing analyzes an embedded SQLite hub)
and measures; an empty database is loaded as usual. The generator is replayed without
writing, so the checks draw the same customers as a run that loads. Every check is rolled back, so the
database stays as loaded (it only ages: expiry is counted from the time of the run, the registration dates
from the time of the load). PostgreSQL is loaded with COPY (the same rows as INSERT, about 3x faster).

The timed part is `sync.conflicts.check` alone, wall clock; the new deal and its product are written before
it and the transaction is rolled back after it, as the engine's page transaction would hold them. No
warm-up: the first checks include SQLAlchemy compiling its statements. The garbage collector is left as it
is (collections during the checks were measured: a few gen-0/1 of < 0.5 ms, no full collection).
"""

import argparse
import io
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select
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


Deal = dict[str, object]
Product = tuple[str, str, str]  # deal id, product, family


def generate(count: int, rng: random.Random,
             keys: bool = True) -> tuple[list[tuple[str, str, str]], Iterator[tuple[Deal, list[Product]]]]:
    """The customers and a lazy stream of the registrations to load: the same draws whether written or not."""
    customers = [customer(rng) for _ in range(max(1, count // 3))]
    keyed: dict[str, tuple[str | None, str | None]] = {}  # name key and phonetic key are pure functions of the name

    def deals() -> Iterator[tuple[Deal, list[Product]]]:
        for i in range(count):
            name, domain, country = rng.choice(customers)
            registered = NOW - timedelta(days=rng.randint(0, 200))
            deal_id = f"d{i:08d}"
            key: str | None = None
            phonetic: str | None = None
            if keys:
                if name not in keyed:
                    key = name_key(name)
                    keyed[name] = key, phonetic_key(key)
                key, phonetic = keyed[name]
            deal: Deal = {
                "id": deal_id, "partner_id": f"p{rng.randrange(500):05d}", "name": f"deal {i}",
                "customer_name": name, "customer_key": key, "customer_phonetic": phonetic,
                "customer_domain": domain if rng.random() < 0.7 else None,
                "customer_country": country, "registration_status": rng.choice(STATUSES), "is_partner_deal": True,
                "stage": "open", "registered_at": registered, "expires_at": registered + timedelta(days=90),
                "conflict_flag": False, "sla_breached": False, "created_at": registered, "updated_at": registered,
            }
            yield deal, [(deal_id, f"{family}-x", family) for family in rng.sample(FAMILIES, rng.randint(1, 2))]

    return customers, deals()


DEAL_COLUMNS = ["id", "partner_id", "name", "customer_name", "customer_key", "customer_phonetic",
                "customer_domain", "customer_country", "registration_status", "is_partner_deal", "stage",
                "registered_at", "expires_at", "conflict_flag", "sla_breached", "created_at", "updated_at"]


def _copy_value(value: object) -> str:
    """One field of PostgreSQL's COPY text format (the generated values have no tab, newline or backslash)."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _write(store: Store, deals: list[Deal], products: list[Product]) -> None:
    """One batch, one transaction: COPY on PostgreSQL (the same rows as the INSERT), executemany elsewhere."""
    with store.session() as s:
        if store.engine.dialect.name != "postgresql":
            s.execute(insert(DealRow), deals)
            s.execute(insert(DealProductRow), [{"deal_id": d, "product": p, "family": f, "quantity": 1}
                                               for d, p, f in products])
            return
        cursor = s.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
        text = io.StringIO()
        for deal in deals:
            text.write("\t".join(_copy_value(deal[column]) for column in DEAL_COLUMNS) + "\n")
        with cursor.copy(f"COPY deals ({', '.join(DEAL_COLUMNS)}) FROM STDIN") as copy:
            copy.write(text.getvalue())
        with cursor.copy("COPY deal_products (deal_id, product, family, quantity) FROM STDIN") as copy:
            copy.write("".join(f"{d}\t{p}\t{f}\t1\n" for d, p, f in products))


def load(store: Store, count: int, rng: random.Random) -> list[tuple[str, str, str]]:
    customers, stream = generate(count, rng)
    with store.session() as s:
        s.execute(insert(PartnerRow), [{"id": f"p{i:05d}", "name": f"Partner {i}"} for i in range(500)])
    deals: list[Deal] = []
    products: list[Product] = []
    for i, (deal, sold) in enumerate(stream):
        deals.append(deal)
        products += sold
        if len(deals) >= BATCH or i == count - 1:
            _write(store, deals, products)
            deals, products = [], []
            print(f"loaded {i + 1}/{count}", end="\r", file=sys.stderr)
    print(file=sys.stderr)
    return customers


def reuse(store: Store, count: int, rng: random.Random) -> list[tuple[str, str, str]] | None:
    """The customers of an earlier load with the same size and seed, or None when the database is empty."""
    with store.session() as s:
        stored = s.scalar(select(func.count()).select_from(DealRow))
        if not stored:
            return None
        customers, stream = generate(count, rng, keys=False)
        first = last = None
        for deal, _ in stream:  # replay every draw, so measure() continues the same random sequence
            first = first or deal
            last = deal
        assert first is not None and last is not None
        for deal in (first, last):
            row = s.get(DealRow, deal["id"])
            if stored != count or row is None or row.customer_name != deal["customer_name"]:
                sys.exit(f"--reuse: the database does not hold the {count} deals this --registrations and --seed "
                         f"would load (it holds {stored}, or other ones); use an empty database")
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
    parser.add_argument("--database-url", default=None,
                        help="an empty database (default: SQLite in a temp dir), or a loaded one with --reuse")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the registrations an earlier run with the same size and seed loaded")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        store = Store(url)
        started = time.perf_counter()
        customers = reuse(store, args.registrations, rng) if args.reuse else None
        reused = customers is not None
        if customers is None:
            customers = load(store, args.registrations, rng)
        if store.engine.dialect.name == "postgresql":  # autovacuum keeps a live server's statistics;
            with store.engine.begin() as conn:  # nothing ANALYZEs an embedded SQLite hub, so neither does this
                conn.exec_driver_sql("ANALYZE")
        load_s = time.perf_counter() - started
        wall, cpu = measure(store, customers, args.checks, rng)
        timings, cpu = sorted(wall), sorted(cpu)
        store.dispose()
    p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
    cpu_p99 = cpu[min(len(cpu) - 1, int(len(cpu) * 0.99))]
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"backend={url.split(':', 1)[0]} registrations={args.registrations} checks={len(timings)} "
          f"{'reused' if reused else 'load'}_s={load_s:.1f} peak_rss_mb={rss_mb:.0f}")
    print(f"median_ms={statistics.median(timings):.3f} p99_ms={p99:.3f} max_ms={timings[-1]:.3f} "
          f"cpu_median_ms={statistics.median(cpu):.3f} cpu_p99_ms={cpu_p99:.3f} load_avg={os.getloadavg()[0]:.2f}")
    print(f"conflict_check_p99_ms={p99:.3f}")


if __name__ == "__main__":
    main()
