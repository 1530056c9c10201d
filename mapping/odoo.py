"""Odoo field maps: partner <-> res.partner (supplier), payout <-> account.move (in_invoice). Pure: no I/O.

A bill's `payment_state` (not_paid, in_payment, paid, partial, reversed) with `amount_residual` gives
the payout status and the paid amount; `in_payment` (paid, not yet matched to the bank) counts as paid.
Odoo keeps no paid date on the bill: `paid_at` is the bill's last write once it is paid.
"""

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from mapping import normalize
from mapping.base import FieldMap, FieldSpec
from mapping.erp import BillLine, bill_head, iso_date, payout_status, period_end, period_of, url
from mapping.model import Partner, Payout

PAID_STATES = {"paid", "in_payment"}

RES_PARTNER = FieldMap(
    system="odoo",
    entity="partner",
    model=Partner,
    id_field="id",
    hub_id_field="ref",
    modified_field="write_date",
    fields=(
        FieldSpec("name", "name", to_hub=normalize.clean_text),
        FieldSpec("website", "website", to_system=url),
        FieldSpec("email", "email", to_hub=normalize.clean_text),
        FieldSpec("phone", "phone", to_hub=normalize.clean_text),
        FieldSpec("street", "street", to_hub=normalize.clean_text),
        FieldSpec("city", "city", to_hub=normalize.clean_text),
        FieldSpec("postal_code", "zip", to_hub=normalize.clean_text),
        FieldSpec("country", "country_code"),
        FieldSpec("tax_id", "vat", to_hub=normalize.clean_text),
        FieldSpec("status", "active", to_hub=lambda v: "active" if v else "archived",
                  to_system=lambda s: s not in {"archived", "merged"}),
    ),
)


def _bill_extra(record: Mapping[str, Any]) -> dict[str, Any]:
    """Amount, payment and status of a vendor bill from its state and payment_state."""
    currency = record.get("currency")
    total = Decimal(str(record.get("amount_total") or 0))
    residual = Decimal(str(record.get("amount_residual") or 0))
    payment_state = record.get("payment_state")
    state = record.get("state")
    paid = total - residual if state == "posted" and payment_state != "reversed" else Decimal(0)
    values: dict[str, Any] = {
        "erp_bill_id": str(record["id"]) if record.get("id") else None,
        "status": payout_status(cancelled=state == "cancel" or payment_state == "reversed", failed=False,
                                total=total, paid=paid),
    }
    if currency:
        values["amount"] = {"amount": total, "currency": currency}
        values["paid_amount"] = {"amount": paid, "currency": currency}
    if payment_state in PAID_STATES:
        values["paid_at"] = normalize.utc(record.get("write_date"))
    return values


ACCOUNT_MOVE = FieldMap(
    system="odoo",
    entity="payout",
    model=Payout,
    id_field="id",
    hub_id_field="ref",
    modified_field="write_date",
    fields=(
        FieldSpec("partner_id", "partner_id", to_hub=lambda v: str(v) if v else None, to_system=int),
        FieldSpec("period", "invoice_date", to_hub=period_of, to_system=lambda p: period_end(p).isoformat()),
        FieldSpec("due_date", "invoice_date_due", to_hub=iso_date,
                  to_system=lambda d: d.isoformat() if d else False),
    ),
    references={"partner_id": "partner"},
    extra=_bill_extra,
)


def bill_record(payout: Payout, partner_id: str, lines: Sequence[BillLine]) -> dict[str, Any]:
    """The account.move (in_invoice) to push for `payout`: one `(0, 0, vals)` line command per group.

    Raises ValueError (see `mapping.erp.bill_head`) for a payout that cannot become a bill.
    """
    record = bill_head(ACCOUNT_MOVE, payout, partner_id, lines)
    record["invoice_line_ids"] = [[0, 0, {"name": line.description, "price_unit": line.amount.amount,
                                          "quantity": 1}] for line in lines]
    return record
