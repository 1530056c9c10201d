"""NetSuite field maps: partner <-> vendor, payout <-> vendorBill. Pure: no I/O.

Records are in the connector's shape: REST record field names; SuiteQL rows come back renamed to them.
A bill's status comes from NetSuite's code (A open, B paid in full, C cancelled, D pending approval,
E rejected) with the amount paid, so a partly paid open bill reads as `partially_paid`.
"""

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from mapping import normalize
from mapping.base import FieldMap, FieldSpec
from mapping.erp import BillLine, bill_head, iso_date, payout_status, period_end, period_of, url
from mapping.model import Partner, Payout


def _inactive(status: str | None) -> bool:
    return status in {"archived", "merged"}


def _entity_id(value: Any) -> str | None:
    return str(value["id"]) if isinstance(value, Mapping) and value.get("id") else None


VENDOR = FieldMap(
    system="netsuite",
    entity="partner",
    model=Partner,
    id_field="id",
    hub_id_field="externalId",
    modified_field="lastModifiedDate",
    fields=(
        FieldSpec("name", "companyName", to_hub=normalize.clean_text),
        FieldSpec("website", "url", to_system=url),
        FieldSpec("email", "email", to_hub=normalize.clean_text),
        FieldSpec("phone", "phone", to_hub=normalize.clean_text),
        FieldSpec("tax_id", "taxIdNum", to_hub=normalize.clean_text),
        FieldSpec("status", "isInactive", to_hub=lambda v: "archived" if v else "active", to_system=_inactive),
    ),
)


def _bill_extra(record: Mapping[str, Any]) -> dict[str, Any]:
    """Amount, payment and status of a vendor bill, in the bill's currency."""
    currency = record.get("currency")
    total = Decimal(str(record.get("total") or 0))
    paid = Decimal(str(record.get("amountPaid") or 0))
    status = str(record.get("status") or "A")
    values: dict[str, Any] = {
        "erp_bill_id": str(record["id"]) if record.get("id") else None,
        "status": payout_status(cancelled=status == "C", failed=status == "E", total=total, paid=paid),
    }
    if currency:
        values["amount"] = {"amount": total, "currency": currency}
        values["paid_amount"] = {"amount": paid, "currency": currency}
    if status == "B" and record.get("closeDate"):
        values["paid_at"] = normalize.utc(f"{str(record['closeDate'])[:10]}T00:00:00")
    return values


VENDOR_BILL = FieldMap(
    system="netsuite",
    entity="payout",
    model=Payout,
    id_field="id",
    hub_id_field="externalId",
    modified_field="lastModifiedDate",
    fields=(
        FieldSpec("partner_id", "entity", to_hub=_entity_id, to_system=lambda v: {"id": str(v)}),
        FieldSpec("period", "tranDate", to_hub=period_of, to_system=lambda p: period_end(p).isoformat()),
        FieldSpec("due_date", "dueDate", to_hub=iso_date, to_system=lambda d: d.isoformat() if d else None),
    ),
    references={"partner_id": "partner"},
    extra=_bill_extra,
)


def bill_record(payout: Payout, vendor_id: str, lines: Sequence[BillLine]) -> dict[str, Any]:
    """The vendorBill to push for `payout`: the vendor's internal id, one expense line per group.

    Raises ValueError (see `mapping.erp.bill_head`) for a payout that cannot become a bill.
    """
    record = bill_head(VENDOR_BILL, payout, vendor_id, lines)
    record["memo"] = f"partnersync payout {payout.id} ({payout.period})"
    record["expense"] = {"items": [{"amount": line.amount.amount, "memo": line.description} for line in lines]}
    return record
