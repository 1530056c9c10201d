"""Incentive accrual: price partners' won deals under the program rules and book the difference.

Work goes partner by partner in chunks (a partner's tier, rebates and deals depend on each other), so
memory stays flat in the number of deals. `on_deals_changed` is the engine's rule for changed deals;
`accrue` recomputes everything (the CLI and the benchmark).
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select, union
from sqlalchemy.orm import Session

from config import Settings
from config.program import ProgramRules
from sync import accruals, calc, tiers
from sync.context import RuleContext
from sync.rollups import roll_up
from sync.store import Store
from sync.store.tables import AccrualRow, DealProductRow, DealRow, SyncErrorRow

CHUNK = 100  # partners per transaction


@dataclass
class Summary:
    partners: int = 0
    deals: int = 0
    counts: accruals.Counts = field(default_factory=accruals.Counts)
    quarantined: list[str] = field(default_factory=list)

    def add(self, other: "Summary") -> None:
        self.partners += other.partners
        self.deals += other.deals
        self.counts.add(other.counts)
        self.quarantined.extend(other.quarantined)


def accrue(store: Store, settings: Settings, now: datetime, chunk: int = CHUNK) -> Summary:
    """Recompute every partner, one transaction per chunk of partners."""
    with store.session() as session:
        partner_ids = list(session.scalars(union(
            select(DealRow.partner_id).where(DealRow.partner_id.is_not(None)),
            select(AccrualRow.partner_id)).order_by("partner_id")))
    summary = Summary()
    for start in range(0, len(partner_ids), chunk):
        with store.session() as session:
            summary.add(accrue_partners(session, settings.program, partner_ids[start:start + chunk], now))
    return summary


def on_deals_changed(ctx: RuleContext, hub_ids: Sequence[str]) -> None:
    """Rule for changed deals: recompute the partners who hold or held them, in the page's transaction."""
    partner_ids = sorted(set(ctx.session.scalars(union(
        select(DealRow.partner_id).where(DealRow.id.in_(hub_ids), DealRow.partner_id.is_not(None)),
        select(AccrualRow.partner_id).where(AccrualRow.deal_id.in_(hub_ids))))))
    for start in range(0, len(partner_ids), CHUNK):
        accrue_partners(ctx.session, ctx.settings.program, partner_ids[start:start + CHUNK], ctx.now, ctx.run_id)


def accrue_partners(session: Session, rules: ProgramRules, partner_ids: Sequence[str], now: datetime,
                    run_id: str | None = None) -> Summary:
    """Price, book, record tiers and roll up for these partners, in `session`."""
    summary = Summary(partners=len(partner_ids))
    deals = _won_deals(session, partner_ids)
    booked = accruals.load(session, partner_ids)
    known = tiers.history(session, partner_ids)
    problems: dict[str, calc.InputProblem] = {}
    current: dict[str, str] = {}
    rows = []
    for partner_id in partner_ids:
        mine = deals.get(partner_id, [])
        summary.deals += len(mine)
        priced: list[tuple[calc.DealFacts, Decimal]] = []
        for deal in mine:
            try:
                priced.append((deal, calc.deal_revenue(rules, deal)))
            except calc.InputProblem as exc:
                problems[deal.id] = exc
        months = calc.monthly_revenue((d.closed_on, rev) for d, rev in priced if d.closed_on)
        periods = {calc.period_of(d.closed_on) for d, _ in priced if d.closed_on} | {calc.period_of(now.date())}
        tier_by_period = {p: tiers.tier_at(rules, months, p) for p in sorted(periods)}
        tiers.record(session, partner_id, tier_by_period, known.get(partner_id, {}))
        current[partner_id] = tier_by_period[calc.period_of(now.date())].tier
        lines: list[calc.Line] = []
        for deal, revenue in priced:
            assert deal.closed_on is not None
            try:
                lines += calc.commission_lines(rules, deal, tier_by_period[calc.period_of(deal.closed_on)].tier)
                lines += calc.spiff_lines(rules, deal, revenue)
            except calc.InputProblem as exc:
                problems[deal.id] = exc
        lines = [line for line in lines if line.deal_id not in problems]
        clean = [(d.closed_on, rev) for d, rev in priced if d.id not in problems and d.closed_on]
        lines += calc.rebate_lines(rules, partner_id, clean)
        new, counts = accruals.book(rules, partner_id, lines, booked, {f"deal:{d}" for d in problems}, now)
        rows += new
        summary.counts.add(counts)
    accruals.insert_rows(session, rows)
    _quarantine(session, partner_ids, problems, deals)
    summary.quarantined = [f"deal {d}: {p.field}: {p.reason}" for d, p in sorted(problems.items())]
    roll_up(session, rules, partner_ids, now, current, run_id)
    return summary


def _won_deals(session: Session, partner_ids: Sequence[str]) -> dict[str, list[calc.DealFacts]]:
    """Live won deals of these partners, with their products."""
    won = (DealRow.partner_id.in_(partner_ids), DealRow.stage == "won", DealRow.deleted_at.is_(None))
    facts: dict[str, calc.DealFacts] = {}
    by_partner: dict[str, list[calc.DealFacts]] = defaultdict(list)
    for row in session.execute(select(DealRow.id, DealRow.partner_id, DealRow.closed_at, DealRow.amount,
                                      DealRow.currency).where(*won).order_by(DealRow.closed_at, DealRow.id)):
        closed: date | None = row.closed_at.date() if row.closed_at else None
        deal = calc.DealFacts(row.id, row.partner_id, closed, row.amount, row.currency)
        facts[row.id] = deal
        by_partner[row.partner_id].append(deal)
    for deal_id, family, amount, currency in session.execute(
        select(DealProductRow.deal_id, DealProductRow.family, DealProductRow.amount, DealProductRow.currency)
        .join(DealRow, DealRow.id == DealProductRow.deal_id).where(*won).order_by(DealProductRow.id)
    ):
        facts[deal_id].products.append(calc.Product(family, amount or Decimal(0), currency))
    return by_partner


def _quarantine(session: Session, partner_ids: Sequence[str], problems: dict[str, calc.InputProblem],
                deals: dict[str, list[calc.DealFacts]]) -> None:
    """One open `sync_errors` row per deal the rules cannot price; cleared once the deal prices again."""
    open_rows = {row.hub_id: row for row in session.scalars(select(SyncErrorRow).where(
        SyncErrorRow.category == "incentive", SyncErrorRow.status == "open",
        SyncErrorRow.hub_id.in_(select(DealRow.id).where(DealRow.partner_id.in_(partner_ids)))))}
    facts = {d.id: d for mine in deals.values() for d in mine}
    for deal_id, problem in problems.items():
        deal = facts[deal_id]
        raw = {"id": deal.id, "partner_id": deal.partner_id, "closed_on": str(deal.closed_on),
               "amount": str(deal.amount), "currency": deal.currency,
               "products": [{"family": p.family, "amount": str(p.amount), "currency": p.currency}
                            for p in deal.products]}
        row = open_rows.pop(deal_id, None)
        if row is None:
            session.add(SyncErrorRow(system="hub", entity="deal", direction="in", hub_id=deal_id,
                                     category="incentive", field=problem.field,
                                     message=f"deal {deal_id}: {problem.field}: {problem.reason}", raw_payload=raw))
        else:
            row.field, row.message, row.raw_payload = problem.field, f"deal {deal_id}: {problem}", raw
            row.attempts += 1
    for row in open_rows.values():
        row.status = "resolved"
