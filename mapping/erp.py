"""What both ERP maps share: bill lines from accruals, the accounting date of a period, website URLs.

A payout becomes one vendor bill with one expense line per accrual group (kind x rule), so finance
sees what the money is for; amounts stay Decimal in the payout currency. Pure: no I/O.
"""

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from mapping.base import FieldMap
from mapping.model import Accrual, Money, Payout


@dataclass(frozen=True)
class BillLine:
    """One expense line of a vendor bill."""

    description: str
    amount: Money


def bill_lines(accruals: Iterable[Accrual], currency: str) -> list[BillLine]:
    """Accruals summed per (kind, rule) into lines, in first-seen order; zero-sum groups are dropped.

    Raises ValueError naming the accrual when one is in another currency than the payout.
    """
    totals: dict[tuple[str, str], Decimal] = {}
    for accrual in accruals:
        if accrual.amount.currency != currency:
            raise ValueError(f"accrual {accrual.id or accrual.rule}: amount is in {accrual.amount.currency}, "
                             f"the payout in {currency}")
        key = (accrual.kind, accrual.rule)
        totals[key] = totals.get(key, Decimal(0)) + accrual.amount.amount
    return [BillLine(f"{kind}: {rule}", Money(amount=amount, currency=currency))
            for (kind, rule), amount in totals.items() if amount != 0]


def period_end(period: str) -> date:
    """The accounting date of a payout period `YYYY-MM`: its last day."""
    year, month = (int(part) for part in period.split("-"))
    return date(year, month, calendar.monthrange(year, month)[1])


def period_of(value: Any) -> str | None:
    """`YYYY-MM` of an ISO date (the bill's accounting date)."""
    return str(value)[:7] if value else None


def iso_date(value: Any) -> date | None:
    return date.fromisoformat(str(value)[:10]) if value else None


def url(domain: str | None) -> str | None:
    """A website for the ERP's URL field from the hub's registrable domain."""
    return f"https://{domain}" if domain else None


def payout_status(*, cancelled: bool, failed: bool, total: Decimal, paid: Decimal) -> str:
    """The hub's payout status from what the bill says: cancelled, rejected, unpaid, partly or fully paid."""
    if cancelled:
        return "cancelled"
    if failed:
        return "failed"
    if total > 0 and paid >= total:
        return "paid"
    return "partially_paid" if paid > 0 else "sent"


def bill_head(bills: FieldMap, payout: Payout, vendor_id: str, lines: Sequence[BillLine]) -> dict[str, Any]:
    """The mapped bill without its lines: vendor, dates and currency, once the payout can become a bill.

    Raises ValueError (see `_checked_currency`) for a payout that cannot become a bill.
    """
    currency = _checked_currency(payout, lines, bills.hub_id_field)
    values = payout.model_dump(include={"period", "due_date"}, exclude_none=True)
    record = bills.to_record({**values, "partner_id": vendor_id}, str(payout.id))
    record["currency"] = currency
    return record


def _checked_currency(payout: Payout, lines: Sequence[BillLine], id_field: str) -> str:
    """The payout's currency, once its id is set and its lines are in that currency and add up to it."""
    if not payout.id:
        raise ValueError(f"payout: id is required (it is the bill's {id_field})")
    currency = payout.amount.currency
    if not lines:
        raise ValueError(f"payout {payout.id}: a bill needs at least one line")
    if any(line.amount.currency != currency for line in lines):
        raise ValueError(f"payout {payout.id}: bill lines must all be in {currency}")
    total = sum((line.amount.amount for line in lines), Decimal(0))
    if total != payout.amount.amount:
        raise ValueError(f"payout {payout.id}: lines add up to {total}, not the payout amount {payout.amount.amount}")
    return currency
