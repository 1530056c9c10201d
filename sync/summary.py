"""What the hub holds after a round of syncs, in a few lines a person reads: the demo's summary.

Every figure is read from the database (sync_runs, sync_errors, links, rule tables), so the summary
tells what happened, not what the caller meant to happen.
"""

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from sync.store.tables import (
    AccrualRow,
    DealRow,
    DuplicateCandidateRow,
    ExternalLinkRow,
    PartnerMergeRow,
    PartnerRow,
    PayoutRow,
    RegistrationConflictRow,
    SyncErrorRow,
    SyncRunRow,
)


@dataclass(frozen=True)
class StreamTotals:
    """One system x entity over every run: records pulled in and pushed out, runs cut short, quarantine."""

    system: str
    entity: str
    runs: int
    rate_limited: int
    failed: int
    records_in: int
    records_out: int
    quarantined: int


def streams(session: Session) -> list[StreamTotals]:
    quarantined = Counter({(s, e): n for s, e, n in session.execute(
        select(SyncErrorRow.system, SyncErrorRow.entity, func.count()).where(SyncErrorRow.status == "open")
        .group_by(SyncErrorRow.system, SyncErrorRow.entity))})
    rows = session.execute(
        select(SyncRunRow.system, SyncRunRow.entity, func.count(),
               func.count().filter(SyncRunRow.status == "rate_limited"),
               func.count().filter(SyncRunRow.status == "failed"),
               func.coalesce(func.sum(SyncRunRow.records_in), 0), func.coalesce(func.sum(SyncRunRow.records_out), 0))
        .group_by(SyncRunRow.system, SyncRunRow.entity))
    found = {(s, e): StreamTotals(s, e, runs, limited, failed, int(rin), int(rout), quarantined[(s, e)])
             for s, e, runs, limited, failed, rin, rout in rows}
    for (s, e), count in quarantined.items():
        found.setdefault((s, e), StreamTotals(s, e, 0, 0, 0, 0, 0, count))
    order = {"partner": 0, "deal": 1, "payout": 2}
    return sorted(found.values(), key=lambda t: (order.get(t.entity, 9), t.system))


def _count(session: Session, *where: ColumnElement[bool], row: type = PartnerRow) -> int:
    return int(session.scalar(select(func.count()).select_from(row).where(*where)) or 0)


def origins(session: Session, entity: str) -> dict[str, str]:
    """hub id -> the system its record first came from (its oldest link)."""
    first = (select(ExternalLinkRow.hub_id, func.min(ExternalLinkRow.id).label("id"))
             .where(ExternalLinkRow.entity == entity).group_by(ExternalLinkRow.hub_id).subquery())
    return {hub_id: system for hub_id, system in session.execute(
        select(ExternalLinkRow.hub_id, ExternalLinkRow.system).join(first, ExternalLinkRow.id == first.c.id))}


def linked_everywhere(session: Session, entity: str, systems: list[str]) -> int:
    """Live hub records with a live link in every one of `systems`."""
    row = PartnerRow if entity == "partner" else DealRow
    live = row.status == "active" if row is PartnerRow else DealRow.deleted_at.is_(None)
    linked = (select(ExternalLinkRow.hub_id)
              .where(ExternalLinkRow.entity == entity, ExternalLinkRow.system.in_(systems), ~ExternalLinkRow.archived)
              .group_by(ExternalLinkRow.hub_id)
              .having(func.count(func.distinct(ExternalLinkRow.system)) == len(systems)))
    return _count(session, live, row.id.in_(linked), row=row)


def _money(amount: Decimal | None) -> str:
    return f"{amount or Decimal(0):,.2f}"


def facts(session: Session, currency: str, systems: list[str]) -> dict[str, str]:
    """The hub's rule results in one line each (payouts and incentives in the program's `currency`)."""
    crms = [s for s in systems if s in ("salesforce", "hubspot")]
    partners, deals = _count(session, PartnerRow.status == "active"), _count(session, DealRow.deleted_at.is_(None),
                                                                             row=DealRow)
    merged = _count(session, PartnerMergeRow.undone_at.is_(None), row=PartnerMergeRow)
    candidates = Counter(dict(session.execute(select(DuplicateCandidateRow.status, func.count())
                                              .group_by(DuplicateCandidateRow.status)).all()))
    conflicts = session.execute(select(RegistrationConflictRow.deal_id, RegistrationConflictRow.other_deal_id,
                                       RegistrationConflictRow.rule, RegistrationConflictRow.resolution)).all()
    origin = origins(session, "deal")
    across = sum(1 for a, b, *_ in conflicts if origin.get(a) != origin.get(b))
    rules = Counter(rule for _, _, rule, _ in conflicts)
    resolved = Counter(resolution for *_, resolution in conflicts if resolution)
    accrued = session.scalar(select(func.sum(AccrualRow.amount)).where(AccrualRow.currency == currency))
    built = _count(session, row=PayoutRow)
    sent = _count(session, PayoutRow.erp_bill_id.is_not(None), row=PayoutRow)
    total = session.scalar(select(func.sum(PayoutRow.amount)).where(PayoutRow.currency == currency))
    paid = session.scalar(select(func.sum(PayoutRow.paid_amount)).where(PayoutRow.currency == currency))
    fully = _count(session, PayoutRow.status == "paid", row=PayoutRow)
    errors = session.execute(select(SyncErrorRow.system, SyncErrorRow.category, func.count())
                             .where(SyncErrorRow.status == "open")
                             .group_by(SyncErrorRow.system, SyncErrorRow.category)
                             .order_by(SyncErrorRow.system, SyncErrorRow.category)).all()
    return {
        "hub partners": f"{partners} active, {linked_everywhere(session, 'partner', systems)} linked in "
                        f"{', '.join(systems)}",
        "hub deals": f"{deals}, {linked_everywhere(session, 'deal', crms)} linked in {' and '.join(crms)}",
        "duplicate partners": f"{merged + sum(candidates.values())} found, {merged} merged, "
                              f"{candidates['open']} to review",
        "registration conflicts": f"{len(conflicts)} found, {across} across CRMs ("
                                  + ", ".join(f"{k} {v}" for k, v in sorted(rules.items())) + "); resolved "
                                  + (", ".join(f"{k} {v}" for k, v in sorted(resolved.items())) or "0")
                                  + f", open {len(conflicts) - resolved.total()}" if conflicts else "0",
        "accruals": f"{_count(session, row=AccrualRow)} booked, {_money(accrued)} {currency}",
        "payouts": f"{built} built, {sent} sent as bills, {_money(total)} {currency}",
        "paid": f"{_money(paid)} of {_money(total)} {currency} ({fully} payouts paid in full)",
        "quarantined": ", ".join(f"{s} {c} {n}" for s, c, n in errors) or "0",
    }
