"""Roll-ups: what each partner and deal has earned and been paid, written back to the CRMs.

Partner: tier, accrued year-to-date, paid year-to-date, last payout. Deal: incentive amount and status.
Only values that changed are written and queued, to every CRM the record is linked to (unified names).
"""

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session

from config.program import ProgramRules
from sync.outbox import enqueue, live_links
from sync.store import batches
from sync.store.tables import AccrualRow, DealRow, PartnerRow, PayoutRow

CRMS = ("salesforce", "hubspot")

def pairs(session: Session, query: Select[Any, Any]) -> dict[Any, Any]:
    """A two-column query as a dict (first column -> second)."""
    return {row[0]: row[1] for row in session.execute(query)}


def money(amount: Decimal | None, currency: str) -> dict[str, str] | None:
    return None if amount is None else {"amount": str(amount), "currency": currency}


def deal_status(total: Decimal, statuses: set[str]) -> str:
    if not total:
        return "reversed"
    if "pending" in statuses:
        return "pending"
    return "paid" if statuses == {"paid"} else "approved"


def roll_up(session: Session, rules: ProgramRules, partner_ids: Sequence[str], now: datetime,
            tiers: dict[str, str] | None = None, run_id: str | None = None) -> int:
    """Recompute the roll-ups of these partners and their deals; returns how many records changed."""
    return _partners(session, rules, partner_ids, now, tiers or {}, run_id) + _deals(session, rules, partner_ids,
                                                                                      run_id)


def _partners(session: Session, rules: ProgramRules, partner_ids: Sequence[str], now: datetime,
              tiers: dict[str, str], run_id: str | None) -> int:
    year = now.year
    accrued = pairs(session,
        select(AccrualRow.partner_id, func.sum(AccrualRow.amount))
        .where(AccrualRow.partner_id.in_(partner_ids), AccrualRow.status != "rejected",
               AccrualRow.period >= f"{year}-01", AccrualRow.period <= f"{year}-12")
        .group_by(AccrualRow.partner_id))
    paid = {pid: (total, last) for pid, total, last in session.execute(
        select(PayoutRow.partner_id, func.sum(PayoutRow.paid_amount), func.max(PayoutRow.paid_at))
        .where(PayoutRow.partner_id.in_(partner_ids), PayoutRow.paid_at >= datetime(year, 1, 1, tzinfo=UTC))
        .group_by(PayoutRow.partner_id))}
    last_paid = pairs(session,
        select(PayoutRow.partner_id, func.max(PayoutRow.paid_at))
        .where(PayoutRow.partner_id.in_(partner_ids)).group_by(PayoutRow.partner_id))
    changed: list[dict[str, Any]] = []
    for row in session.execute(select(PartnerRow.id, PartnerRow.tier, PartnerRow.accrued_ytd, PartnerRow.paid_ytd,
                                      PartnerRow.last_payout_at).where(PartnerRow.id.in_(partner_ids))):
        values: dict[str, Any] = {"tier": tiers.get(row.id, row.tier), "accrued_ytd": accrued.get(row.id, Decimal(0)),
                  "paid_ytd": paid.get(row.id, (Decimal(0), None))[0] or Decimal(0),
                  "last_payout_at": last_paid.get(row.id)}
        if values != {"tier": row.tier, "accrued_ytd": row.accrued_ytd, "paid_ytd": row.paid_ytd,
                      "last_payout_at": row.last_payout_at}:
            changed.append({"id": row.id, **values})
    _write_back(session, PartnerRow, "partner", changed, run_id, lambda values: {
        "id": values["id"], "tier": values["tier"],
        "accrued_ytd": money(values["accrued_ytd"], rules.currency),
        "paid_ytd": money(values["paid_ytd"], rules.currency),
        "last_payout_at": values["last_payout_at"].isoformat() if values["last_payout_at"] else None})
    return len(changed)


def _deals(session: Session, rules: ProgramRules, partner_ids: Sequence[str], run_id: str | None) -> int:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    statuses: dict[str, set[str]] = defaultdict(set)
    held = select(AccrualRow.deal_id).where(AccrualRow.partner_id.in_(partner_ids))
    for deal_id, status, total in session.execute(
        select(AccrualRow.deal_id, AccrualRow.status, func.sum(AccrualRow.amount))
        .where(AccrualRow.deal_id.in_(select(DealRow.id).where(or_(DealRow.partner_id.in_(partner_ids),
                                                                     DealRow.id.in_(held)))),
               AccrualRow.status != "rejected")
        .group_by(AccrualRow.deal_id, AccrualRow.status)):
        if deal_id is None:
            continue
        totals[deal_id] += total
        statuses[deal_id].add(status)
    changed: list[dict[str, Any]] = []
    rows = (row for batch in batches(list(totals)) for row in session.execute(
        select(DealRow.id, DealRow.incentive_amount, DealRow.incentive_status).where(DealRow.id.in_(batch))))
    for row in rows:
        values: dict[str, Any] = {"incentive_amount": totals[row.id], "incentive_status": deal_status(totals[row.id],
                                                                                      statuses[row.id])}
        if values != {"incentive_amount": row.incentive_amount, "incentive_status": row.incentive_status}:
            changed.append({"id": row.id, **values})
    _write_back(session, DealRow, "deal", changed, run_id, lambda values: {
        "id": values["id"], "incentive_amount": money(values["incentive_amount"], rules.currency),
        "incentive_status": values["incentive_status"]})
    return len(changed)


def _write_back(session: Session, table: type[PartnerRow] | type[DealRow], entity: str,
                changed: list[dict[str, Any]], run_id: str | None,
                payload: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """Store the changed roll-ups and queue them to every CRM the record is linked to."""
    if changed:
        session.execute(update(table), changed)
    links = live_links(session, entity, [c["id"] for c in changed], CRMS)
    for values in changed:
        if links.get(values["id"]):
            enqueue(session, entity=entity, hub_id=values["id"], systems=links[values["id"]],
                    payload=payload(values), run_id=run_id)
