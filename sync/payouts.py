"""Payouts: approved accruals grouped per partner x period, queued to the ERP as one vendor bill each.

A payout for period P pays every approved, unpaid accrual earned up to P (late approvals and adjustments
after a payout was sent roll into the next one). The payout id is the bill's external id (NetSuite
`externalId`, Odoo `ref`), so pushing it again updates the same bill instead of creating a second.
"""

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from config import Settings
from mapping.model import Payout
from sync.context import RuleContext
from sync.outbox import enqueue
from sync.rollups import money, pairs, roll_up
from sync.store import batches
from sync.store.tables import AccrualRow, ExternalLinkRow, PartnerRow, PayoutRow, SyncErrorRow, new_id

PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_LABELS = {"commission": "Commission", "spiff": "SPIFF", "rebate": "Volume rebate", "mdf": "MDF"}


class PayoutError(ValueError):
    """Bad input to a payout command (period, unknown payout); nothing is written."""


@dataclass
class PayoutReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    carried: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Bill:
    """An ERP vendor bill as the hub compares it: found by the payout id it carries as external id / ref."""

    payout_id: str | None
    bill_id: str
    amount: Decimal
    currency: str
    status: str
    paid_amount: Decimal = Decimal(0)
    paid_at: datetime | None = None
    period: str | None = None

    @classmethod
    def from_unified(cls, payout: Payout) -> "Bill":
        """From the unified payout the ERP mapping returns (id = the hub payout id it was pushed with)."""
        return cls(payout.id, payout.erp_bill_id or "", payout.amount.amount, payout.amount.currency, payout.status,
                   payout.paid_amount.amount if payout.paid_amount else Decimal(0), payout.paid_at, payout.period)


def check_period(period: str) -> str:
    if not PERIOD.match(period):
        raise PayoutError(f"--period: {period!r} is not a month (YYYY-MM)")
    return period


def build(session: Session, settings: Settings, period: str, now: datetime) -> PayoutReport:
    """Create or extend the payouts of `period` and queue each to the ERP; partners with no vendor link in
    the ERP are reported and quarantined, their accruals left untouched."""
    check_period(period)
    if not settings.erp.enabled:
        raise PayoutError("erp.enabled: the ERP is disabled, so payouts cannot be sent; nothing was written")
    rules, erp = settings.program, settings.erp.kind
    due = (AccrualRow.status == "approved", AccrualRow.payout_id.is_(None), AccrualRow.period <= period,
           AccrualRow.currency == rules.currency)
    totals = pairs(session, select(AccrualRow.partner_id, func.sum(AccrualRow.amount)).where(*due)
                                  .group_by(AccrualRow.partner_id).order_by(AccrualRow.partner_id))
    partners = list(totals)
    vendors = {hub_id: ext for batch in batches(partners) for hub_id, ext in session.execute(
        select(ExternalLinkRow.hub_id, ExternalLinkRow.external_id).where(
            ExternalLinkRow.entity == "partner", ExternalLinkRow.system == erp, ExternalLinkRow.archived.is_(False),
            ExternalLinkRow.hub_id.in_(batch)))}
    existing = {row.partner_id: row for batch in batches(partners) for row in session.scalars(
        select(PayoutRow).where(PayoutRow.period == period, PayoutRow.currency == rules.currency,
                                PayoutRow.partner_id.in_(batch)))}
    report = PayoutReport()
    accepted: dict[str, PayoutRow] = {}
    for partner_id, total in totals.items():
        payout = existing.get(partner_id)
        if partner_id not in vendors:
            report.errors.append(_no_vendor(session, partner_id, period, total, erp))
        elif payout is not None and payout.status != "approved":
            report.carried.append(f"partner {partner_id}: payout {payout.id} for {period} is already {payout.status}; "
                                  f"{total} {rules.currency} waits for the next period")
        elif (payout.amount if payout else Decimal(0)) + total <= 0:
            report.carried.append(f"partner {partner_id}: net {total} {rules.currency} is not positive; carried over")
        elif payout is None:
            accepted[partner_id] = PayoutRow(id=new_id(), partner_id=partner_id, period=period, amount=total,
                                             currency=rules.currency, status="approved", erp_system=erp)
            session.add(accepted[partner_id])
            report.created.append(accepted[partner_id].id)
        else:
            accepted[partner_id] = payout
            report.updated.append(payout.id)
    session.flush()
    for batch in batches([p.id for p in accepted.values()]):
        session.execute(update(AccrualRow).where(
            PayoutRow.id.in_(batch), AccrualRow.partner_id == PayoutRow.partner_id,
            AccrualRow.currency == PayoutRow.currency, *due,
        ).values(payout_id=PayoutRow.id, updated_at=now).execution_options(synchronize_session=False))
    lines = _lines([p.id for p in accepted.values()], session)
    for partner_id, payout in accepted.items():
        payout.amount = sum((Decimal(line["amount"]["amount"]) for line in lines[payout.id]), Decimal(0))
        enqueue(session, entity="payout", hub_id=payout.id, systems=[erp],
                payload=payload(payout, vendors[partner_id], lines[payout.id]))
    return report


def _lines(payout_ids: list[str], session: Session) -> dict[str, list[dict[str, Any]]]:
    """Per payout, one line per accrual group (rule), adjustments netted in; groups netting to zero are left out."""
    lines: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for batch in batches(payout_ids):
        for payout_id, rule, kind, currency, total, count in session.execute(
            select(AccrualRow.payout_id, AccrualRow.rule, func.min(AccrualRow.kind), AccrualRow.currency,
                   func.sum(AccrualRow.amount), func.count())
            .where(AccrualRow.payout_id.in_(batch))
            .group_by(AccrualRow.payout_id, AccrualRow.rule, AccrualRow.currency)
            .order_by(AccrualRow.payout_id, AccrualRow.rule)):
            if not total:
                continue
            group, _, detail = rule.partition(":")
            lines[str(payout_id)].append({"rule": rule, "kind": group if group in _LABELS else kind,
                                     "description": f"{_LABELS.get(group, group)} {detail}".strip(),
                                     "amount": money(total, currency), "accruals": count})
    return lines


def payload(payout: PayoutRow, vendor_id: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
    """The unified payout the ERP pusher maps to a vendor bill: header plus one line per accrual group."""
    return {"id": payout.id, "partner_id": payout.partner_id, "vendor_id": vendor_id, "period": payout.period,
            "amount": money(payout.amount, payout.currency), "status": payout.status,
            "memo": f"Partner incentives {payout.period} ({payout.id})", "lines": lines}


def _no_vendor(session: Session, partner_id: str, period: str, total: Decimal, erp: str) -> str:
    name = session.scalar(select(PartnerRow.name).where(PartnerRow.id == partner_id))
    message = (f"partner {partner_id} ({name}): partner_id: no vendor link in {erp}; sync the partner to the ERP "
               f"before paying it (nothing was written for it)")
    open_row = session.scalar(select(SyncErrorRow).where(
        SyncErrorRow.category == "no_erp_vendor", SyncErrorRow.status == "open", SyncErrorRow.hub_id == partner_id))
    if open_row is None:
        session.add(SyncErrorRow(system=erp, entity="payout", direction="out", hub_id=partner_id,
                                 category="no_erp_vendor", field="partner_id", message=message,
                                 raw_payload={"partner_id": partner_id, "period": period, "amount": str(total)}))
    else:
        open_row.attempts += 1
    return message


def mark_sent(session: Session, payout_id: str, bill_id: str, erp: str, now: datetime) -> None:
    """After the ERP accepted the bill: keep its id and link it (repeating this changes nothing)."""
    payout = session.get(PayoutRow, payout_id)
    if payout is None:
        raise PayoutError(f"payout {payout_id}: no such payout")
    if payout.status == "approved":
        payout.status, payout.sent_at = "sent", now
    payout.erp_bill_id = bill_id
    link = session.scalar(select(ExternalLinkRow).where(
        ExternalLinkRow.entity == "payout", ExternalLinkRow.hub_id == payout_id, ExternalLinkRow.system == erp))
    if link is None:
        session.add(ExternalLinkRow(entity="payout", hub_id=payout_id, system=erp, external_id=bill_id))
    else:
        link.external_id = bill_id


def apply_bills(session: Session, settings: Settings, bills: Iterable[Bill], now: datetime) -> int:
    """Payment status from the ERP's bills onto their payouts, then `settle`; returns payouts changed."""
    changed: list[str] = []
    for bill in bills:
        payout = session.get(PayoutRow, bill.payout_id) if bill.payout_id else None
        if payout is None or payout.status == "cancelled":
            continue
        before = (payout.status, payout.paid_amount, payout.paid_at, payout.erp_bill_id)
        payout.erp_bill_id = payout.erp_bill_id or bill.bill_id
        if bill.status in {"paid", "partially_paid"}:
            payout.status, payout.paid_amount, payout.paid_at = bill.status, bill.paid_amount, bill.paid_at or now
        elif bill.status in {"cancelled", "failed"}:
            payout.status = bill.status
        elif payout.status == "approved":
            payout.status, payout.sent_at = "sent", payout.sent_at or now
        if before != (payout.status, payout.paid_amount, payout.paid_at, payout.erp_bill_id):
            changed.append(payout.id)
    settle(session, settings, changed, now)
    return len(changed)


def settle(session: Session, settings: Settings, payout_ids: Sequence[str], now: datetime) -> None:
    """Accruals follow their payout (paid: paid; cancelled: free for the next payout), then roll-ups."""
    partners: set[str] = set()
    for batch in batches(list(payout_ids)):
        for payout in session.scalars(select(PayoutRow).where(PayoutRow.id.in_(batch))):
            partners.add(payout.partner_id)
            mine = update(AccrualRow).where(AccrualRow.payout_id == payout.id).execution_options(
                synchronize_session=False)
            if payout.status == "paid":
                session.execute(mine.where(AccrualRow.status != "paid").values(status="paid", updated_at=now))
            elif payout.status == "cancelled":
                session.execute(mine.values(payout_id=None, status="approved", updated_at=now))
    for chunk in batches(sorted(partners), 100):
        roll_up(session, settings.program, chunk, now)


def on_payouts_changed(ctx: RuleContext, hub_ids: Sequence[str]) -> None:
    """Rule for payouts whose status the ERP pull changed: settle their accruals and roll up."""
    settle(ctx.session, ctx.settings, hub_ids, ctx.now)
