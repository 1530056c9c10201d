"""Benchmark of incentives: accrue, approve and build payouts for N won deals.

    python bench/incentives.py --deals 200000 [--database-url URL]

Default 200,000 won deals (100 per partner, products in two families, three currencies) on a temporary
SQLite file; use `--deals 2000` for a quick CI check. Prints deals/s, peak RSS, and as its last line
`accrual_deals_per_s=<n>`. Memory stays flat in N: deals stream partner chunk by partner chunk and
accruals go in with bulk inserts.
"""

import argparse
import random
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import insert

from config import Settings
from config.program import ProgramRules
from sync.approvals import approve
from sync.incentives import accrue
from sync.payouts import build
from sync.store import Store
from sync.store.migrate import upgrade
from sync.store.tables import DealProductRow, DealRow, ExternalLinkRow, PartnerRow

NOW = datetime(2026, 12, 15, tzinfo=UTC)
DEALS_PER_PARTNER = 100
RULES = {
    "currency": "USD",
    "tiers": [{"name": "registered", "min_revenue": 0}, {"name": "silver", "min_revenue": 250000},
              {"name": "gold", "min_revenue": 1000000}],
    "commission": {"rates": {t: {"software": r, "services": r / 2} for t, r in
                             (("registered", Decimal("0.05")), ("silver", Decimal("0.08")),
                              ("gold", Decimal("0.10")))}},
    "spiffs": [{"name": "q4", "amount": 250, "currency": "USD", "product_families": ["software"],
                "min_deal_amount": 5000, "starts": "2026-10-01", "ends": "2026-12-31"}],
    "rebates": {"mode": "marginal", "period": "quarter",
                "bands": [{"from_revenue": 0, "up_to": 100000, "rate": 0},
                          {"from_revenue": 100000, "rate": "0.01"}]},
    "fx_rates": {"EUR": "1.08", "GBP": "1.27"},
    "approval": {"auto_approve_below": 1000},
}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def seed(store: Store, deals: int) -> None:
    """Partners with an ERP vendor link, and their won deals over the last 24 months, in bulk."""
    rng = random.Random(7)
    partners = max(1, deals // DEALS_PER_PARTNER)
    with store.session() as s:
        s.execute(insert(PartnerRow), [{"id": f"p{i:07d}", "name": f"Partner {i}"} for i in range(partners)])
        s.execute(insert(ExternalLinkRow), [{"entity": "partner", "hub_id": f"p{i:07d}", "system": "netsuite",
                                             "external_id": f"V{i}"} for i in range(partners)])
    batch = 10_000
    for start in range(0, deals, batch):
        rows, products = [], []
        for n in range(start, min(deals, start + batch)):
            currency = ("USD", "EUR", "GBP")[n % 3]
            software = Decimal(rng.randrange(1000, 60000))
            services = Decimal(rng.randrange(0, 20000))
            rows.append({"id": f"d{n:08d}", "partner_id": f"p{n % partners:07d}", "name": f"Deal {n}",
                         "amount": software + services, "currency": currency, "stage": "won",
                         "closed_at": NOW - timedelta(days=rng.randrange(0, 720))})
            products += [{"deal_id": f"d{n:08d}", "product": "Suite", "family": "software", "amount": software,
                          "currency": currency},
                         {"deal_id": f"d{n:08d}", "product": "Onboarding", "family": "services", "amount": services,
                          "currency": currency}]
        with store.session() as s:
            s.execute(insert(DealRow), rows)
            s.execute(insert(DealProductRow), products)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=200_000)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        store = Store(url)
        settings = Settings(program=ProgramRules.model_validate(RULES), erp={"kind": "netsuite"})
        started = time.perf_counter()
        seed(store, args.deals)
        print(f"seeded {args.deals} won deals in {time.perf_counter() - started:.1f}s, peak RSS {peak_rss_mb():.0f} MB")
        started = time.perf_counter()
        summary = accrue(store, settings, NOW)
        accrued_s = time.perf_counter() - started
        print(f"accrue: {summary.partners} partners, {summary.deals} deals, {summary.counts.originals} accruals "
              f"in {accrued_s:.1f}s = {summary.deals / accrued_s:.0f} deals/s, peak RSS {peak_rss_mb():.0f} MB")
        started = time.perf_counter()
        again = accrue(store, settings, NOW)
        print(f"re-accrue (nothing to book: {again.counts.originals + again.counts.adjustments}) in "
              f"{time.perf_counter() - started:.1f}s")
        started = time.perf_counter()
        with store.session() as s:
            approved = approve(s, settings.program, by="bench", now=NOW)
        print(f"approve: {approved} accruals in {time.perf_counter() - started:.1f}s")
        started = time.perf_counter()
        with store.session() as s:
            report = build(s, settings, "2026-12", NOW)
        print(f"payouts: {len(report.created)} created in {time.perf_counter() - started:.1f}s, "
              f"peak RSS {peak_rss_mb():.0f} MB")
        store.dispose()
        print(f"peak_rss_mb={peak_rss_mb():.0f}")
        print(f"accrual_deals_per_s={summary.deals / accrued_s:.0f}")


if __name__ == "__main__":
    main()
