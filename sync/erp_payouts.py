"""Payouts to the ERP as vendor bills, and payment status back, through the ERP's connector and maps.

The bill carries the payout id as its external id (NetSuite `externalId`, Odoo `ref`), so a push that
is repeated after a crash (bill created, payout not yet marked sent) updates the same bill.
"""

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from config import Settings
from connectors.base import Connector, Cursor
from mapping import netsuite, odoo
from mapping.base import FieldMap
from mapping.erp import BillLine
from mapping.model import Money, Payout
from sync.payouts import Bill, apply_bills, mark_sent
from sync.store import Store
from sync.store.tables import OutboxRow, SyncErrorRow, now

BillRecord = Callable[[Payout, str, Sequence[BillLine]], dict[str, Any]]
MAPS: dict[str, tuple[FieldMap[Payout], BillRecord]] = {
    "netsuite": (netsuite.VENDOR_BILL, netsuite.bill_record),
    "odoo": (odoo.ACCOUNT_MOVE, odoo.bill_record),
}


@dataclass
class SendReport:
    sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def bill_for(erp: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The ERP's bill record for a queued unified payout (raises ValueError for one that cannot be a bill)."""
    payout = Payout(id=payload["id"], partner_id=payload["partner_id"], period=payload["period"],
                    amount=Money(**payload["amount"]))
    lines = [BillLine(line["description"], Money(**line["amount"])) for line in payload["lines"]]
    return MAPS[erp][1](payout, payload["vendor_id"], lines)


def send(store: Store, settings: Settings, connector: Connector) -> SendReport:
    """Push every queued payout (its newest payload) as a bill; each success marks the payout sent.

    One payout per transaction after its push: a crash in between leaves the row queued, and the next
    run's push finds the same bill by external id.
    """
    erp, report = settings.erp.kind, SendReport()
    with store.session() as session:
        queued = session.execute(select(OutboxRow.id, OutboxRow.hub_id, OutboxRow.payload).where(
            OutboxRow.entity == "payout", OutboxRow.system == erp, OutboxRow.status == "pending")
            .order_by(OutboxRow.id)).all()
    rows: dict[str, list[int]] = defaultdict(list)
    newest: dict[str, dict[str, Any]] = {}
    for row_id, hub_id, payload in queued:
        rows[hub_id].append(row_id)
        newest[hub_id] = payload
    for hub_id, payload in newest.items():
        row_ids = rows[hub_id]
        try:
            record = bill_for(erp, payload)
        except (ValueError, KeyError) as exc:
            _failed(store, erp, hub_id, row_ids, payload, "mapping", None, f"payout {hub_id}: {exc}", report)
            continue
        [result] = connector.push("payout", [record])
        if not result.success or not result.external_id:
            error = result.error
            field_name = error.fields[0] if error and error.fields else None
            message = f"payout {hub_id}: {error or 'no bill id returned'}"
            _failed(store, erp, hub_id, row_ids, payload, error.code if error else "push", field_name, message, report)
            continue
        with store.session() as session:
            mark_sent(session, hub_id, result.external_id, erp, now())
            _close(session, row_ids, status="sent", error=None)
        report.sent.append(hub_id)
    return report


def _close(session: Session, row_ids: list[int], *, status: str, error: str | None) -> None:
    session.execute(update(OutboxRow).where(OutboxRow.id.in_(row_ids)).values(
        status=status, attempts=OutboxRow.attempts + 1, last_error=error,
        sent_at=now() if status == "sent" else None))


def _failed(store: Store, erp: str, hub_id: str, row_ids: list[int], payload: dict[str, Any], category: str,
            field_name: str | None, message: str, report: SendReport) -> None:
    """A bill the ERP refused (closed period, vendor gone, ...): quarantined with its payload, not retried blind."""
    with store.session() as session:
        _close(session, row_ids, status="failed", error=message)
        session.add(SyncErrorRow(system=erp, entity="payout", direction="out", hub_id=hub_id, external_id=hub_id,
                                 category=category, field=field_name, message=message, raw_payload=payload))
    report.failed.append(message)


def bills(settings: Settings, connector: Connector) -> list[Bill]:
    """Every vendor bill in the ERP (a full pull), as the hub compares them."""
    fmap = MAPS[settings.erp.kind][0]
    found = []
    for page in connector.pull("payout", Cursor(), full=True):
        for record in page.records:
            values = fmap.to_values(record)
            amount = values.get("amount") or {"amount": 0, "currency": ""}
            paid = values.get("paid_amount") or {"amount": 0}
            found.append(Bill(payout_id=fmap.hub_id(record), bill_id=fmap.external_id(record),
                              amount=Decimal(str(amount["amount"])), currency=str(amount["currency"]),
                              status=str(values.get("status")), paid_amount=Decimal(str(paid["amount"])),
                              paid_at=values.get("paid_at"), period=values.get("period")))
    return found


def payments(store: Store, settings: Settings, connector: Connector, at: datetime) -> int:
    """Pull the bills and apply their payment status to the hub (payouts, accruals, roll-ups)."""
    found = bills(settings, connector)
    with store.session() as session:
        return apply_bills(session, settings, found, at)
