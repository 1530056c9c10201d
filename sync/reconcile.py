"""Reconciliation of one period: hub accruals -> payouts -> ERP bills -> payments, every difference listed."""

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sync.payouts import Bill, check_period
from sync.rollups import pairs
from sync.store.tables import AccrualRow, PayoutRow, ReconcileRunRow

KINDS = ("missing_payout", "payout_total", "missing_bill", "duplicate_bill", "amount", "currency", "status",
         "unknown_bill")
_PAID = {"paid", "partially_paid"}


class BillFileError(ValueError):
    """A bill export that cannot be read; names the bill and field."""


def read_bills(path: Path) -> list[Bill]:
    """Bills from an ERP export: a JSON list of {payout_id, bill_id, amount, currency, status, paid_amount,
    paid_at, period}; amounts are strings or numbers read exactly."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    except (OSError, ValueError) as exc:
        raise BillFileError(f"{path}: cannot read bills: {exc}") from None
    if not isinstance(data, list):
        raise BillFileError(f"{path}: expected a JSON list of bills")
    bills = []
    for i, item in enumerate(data):
        where = f"{path}: bill {i} ({item.get('bill_id') if isinstance(item, dict) else '?'})"
        try:
            bills.append(Bill(payout_id=item.get("payout_id"), bill_id=str(item["bill_id"]),
                              amount=Decimal(str(item["amount"])), currency=str(item["currency"]).upper(),
                              status=str(item["status"]), paid_amount=Decimal(str(item.get("paid_amount") or 0)),
                              paid_at=datetime.fromisoformat(item["paid_at"]) if item.get("paid_at") else None,
                              period=item.get("period")))
        except KeyError as exc:
            raise BillFileError(f"{where}: {exc.args[0]}: missing") from None
        except (InvalidOperation, ValueError, AttributeError, TypeError) as exc:
            raise BillFileError(f"{where}: {exc}") from None
    return bills


@dataclass(frozen=True)
class Difference:
    kind: str
    payout_id: str | None
    partner_id: str | None
    hub: str
    erp: str
    detail: str

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)


def reconcile(session: Session, period: str, bills: Iterable[Bill]) -> list[Difference]:
    """Differences for `period`; `bills` is the ERP's full list of bills (any period is fine: others are ignored)."""
    check_period(period)
    diffs: list[Difference] = []
    for partner_id, count, total in session.execute(
        select(AccrualRow.partner_id, func.count(), func.sum(AccrualRow.amount))
        .where(AccrualRow.period == period, AccrualRow.status == "approved", AccrualRow.payout_id.is_(None))
        .group_by(AccrualRow.partner_id).order_by(AccrualRow.partner_id)):
        diffs.append(Difference("missing_payout", None, partner_id, f"{count} approved accruals, {total}", "-",
                                "approved accruals of the period are in no payout"))
    payouts = {p.id: p for p in session.scalars(select(PayoutRow).where(PayoutRow.period == period)
                                                .order_by(PayoutRow.partner_id))}
    sums = pairs(session, select(AccrualRow.payout_id, func.sum(AccrualRow.amount))
                                .where(AccrualRow.payout_id.in_(list(payouts))).group_by(AccrualRow.payout_id))
    by_payout: dict[str, list[Bill]] = defaultdict(list)
    known = set(session.scalars(select(PayoutRow.id)))
    for bill in bills:
        if bill.payout_id in payouts:
            by_payout[bill.payout_id].append(bill)
        elif bill.payout_id not in known and bill.period in (None, period) and bill.status != "cancelled":
            diffs.append(Difference("unknown_bill", bill.payout_id, None, "-", f"bill {bill.bill_id}",
                                    "an ERP bill no hub payout of the period accounts for"))
    for payout in payouts.values():
        diffs += _payout(payout, sums.get(payout.id, Decimal(0)), by_payout.get(payout.id, []))
    return diffs


def _payout(payout: PayoutRow, accrued: Decimal, bills: list[Bill]) -> list[Difference]:
    def diff(kind: str, hub: str, erp: str, detail: str) -> Difference:
        return Difference(kind, payout.id, payout.partner_id, hub, erp, detail)

    if payout.status == "cancelled":
        return [diff("status", "cancelled", f"bill {b.bill_id} {b.status}", "cancelled payout has a live bill")
                for b in bills if b.status != "cancelled"]
    found = []
    if accrued != payout.amount:
        found.append(diff("payout_total", f"payout {payout.amount}", "-", f"its accruals sum to {accrued}"))
    live = [b for b in bills if b.status != "cancelled"]
    if not live:
        return [*found, diff("missing_bill", f"{payout.status} {payout.amount} {payout.currency}", "-",
                             "no ERP bill carries this payout id")]
    if len(live) > 1:
        found.append(diff("duplicate_bill", payout.id, ", ".join(b.bill_id for b in live),
                          f"{len(live)} ERP bills carry this payout id"))
    bill = live[0]
    if bill.currency != payout.currency:
        found.append(diff("currency", payout.currency, bill.currency, f"bill {bill.bill_id}"))
    elif bill.amount != payout.amount:
        found.append(diff("amount", str(payout.amount), str(bill.amount), f"bill {bill.bill_id}"))
    hub_paid = payout.paid_amount or Decimal(0)
    if (payout.status in _PAID) != (bill.status in _PAID) or (bill.status in _PAID and (
            bill.status != payout.status or bill.paid_amount != hub_paid)):
        found.append(diff("status", f"{payout.status} paid {hub_paid}", f"{bill.status} paid {bill.paid_amount}",
                          f"bill {bill.bill_id}"))
    return found


def record(session: Session, period: str, diffs: list[Difference], at: datetime) -> None:
    """Keep what a reconciliation found: the `reconciliation` alert fires on the period's latest result."""
    kinds: dict[str, int] = defaultdict(int)
    for diff in diffs:
        kinds[diff.kind] += 1
    session.add(ReconcileRunRow(period=period, ran_at=at, differences=len(diffs), kinds=dict(kinds)))


def check(session: Session, period: str, bills: Iterable[Bill], at: datetime) -> list[Difference]:
    """Reconcile the period and keep the result, as every caller must for the alert to tell the truth."""
    diffs = reconcile(session, period, bills)
    record(session, period, diffs, at)
    return diffs
