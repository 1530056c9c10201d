"""ERP field maps: pure conversions between vendor/bill records and the unified model."""

from datetime import date
from decimal import Decimal

import pytest

from mapping.erp import BillLine, bill_head, bill_lines, period_end
from mapping.model import Accrual, Money, Partner, Payout
from mapping.netsuite import VENDOR, VENDOR_BILL
from mapping.netsuite import bill_record as netsuite_bill
from mapping.odoo import ACCOUNT_MOVE, RES_PARTNER
from mapping.odoo import bill_record as odoo_bill


def usd(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="USD")


def accrual(kind: str, rule: str, amount: str, currency: str = "USD") -> Accrual:
    return Accrual(partner_id="P-1", rule=rule, kind=kind, period="2026-02",
                   amount=Money(amount=Decimal(amount), currency=currency))


def test_bill_lines_group_accruals_by_kind_and_rule() -> None:
    lines = bill_lines([accrual("commission", "gold", "10.10"), accrual("spiff", "q1", "50"),
                        accrual("commission", "gold", "0.205"), accrual("reversal", "gold", "-3"),
                        accrual("mdf", "m", "5"), accrual("mdf", "m", "-5")], "USD")
    assert lines == [BillLine("commission: gold", usd("10.305")), BillLine("spiff: q1", usd("50")),
                     BillLine("reversal: gold", usd("-3"))]
    with pytest.raises(ValueError, match="EUR"):
        bill_lines([accrual("commission", "gold", "1", "EUR")], "USD")


def test_period_end_is_the_accounting_date() -> None:
    assert period_end("2028-02") == date(2028, 2, 29)
    assert period_end("2026-12") == date(2026, 12, 31)


def test_bill_head_refuses_bills_that_do_not_add_up() -> None:
    payout = Payout(id="PAY-1", partner_id="P-1", period="2026-02", amount=usd("10.00"))
    head = bill_head(ACCOUNT_MOVE, payout, "7", [BillLine("a", usd("4")), BillLine("b", usd("6.00"))])
    assert (head["currency"], head["ref"], head["partner_id"]) == ("USD", "PAY-1", 7)
    with pytest.raises(ValueError, match="add up to 4"):
        bill_head(ACCOUNT_MOVE, payout, "7", [BillLine("a", usd("4"))])
    with pytest.raises(ValueError, match="at least one line"):
        bill_head(ACCOUNT_MOVE, payout, "7", [])
    with pytest.raises(ValueError, match="the bill's ref"):
        bill_head(ACCOUNT_MOVE, payout.model_copy(update={"id": None}), "7", [BillLine("a", usd("10"))])


def test_netsuite_vendor_both_ways() -> None:
    record = {"id": "7", "externalId": "P-1", "companyName": " Acme  Inc ", "url": "https://www.acme.com/x",
              "phone": "+1 415 555 0100", "taxIdNum": "US 12-345", "isInactive": True,
              "lastModifiedDate": "2026-11-23T10:00:00+00:00"}
    partner = VENDOR.to_model(record)
    assert (partner.name, partner.website, partner.phone, partner.tax_id, partner.status) == (
        "Acme Inc", "acme.com", "+14155550100", "US12345", "archived")
    assert VENDOR.hub_id(record) == "P-1"
    out = VENDOR.to_record(Partner(name="Acme", website="acme.com").model_dump(exclude_none=True), "P-1")
    assert out == {"companyName": "Acme", "url": "https://acme.com", "isInactive": False, "externalId": "P-1"}


@pytest.mark.parametrize(("status", "paid", "expected"), [
    ("A", "0", "sent"), ("A", "20", "partially_paid"), ("B", "50", "paid"), ("C", "0", "cancelled"),
    ("E", "0", "failed"), ("D", "0", "sent"),
])
def test_netsuite_bill_status(status: str, paid: str, expected: str) -> None:
    record = {"id": "9", "externalId": "PAY-1", "entity": {"id": "7"}, "tranDate": "2026-02-28", "status": status,
              "total": Decimal("50"), "amountPaid": Decimal(paid), "currency": "USD", "closeDate": "2026-03-05",
              "lastModifiedDate": "2026-03-05T10:00:00+00:00"}
    payout = VENDOR_BILL.to_model(record)
    assert payout.status == expected and payout.period == "2026-02" and payout.partner_id == "7"
    assert payout.paid_amount == usd(paid) and payout.erp_bill_id == "9"
    assert (payout.paid_at is not None) == (status == "B")


@pytest.mark.parametrize(("state", "payment_state", "residual", "expected"), [
    ("posted", "not_paid", "50", "sent"), ("posted", "partial", "30", "partially_paid"),
    ("posted", "in_payment", "0", "paid"), ("posted", "paid", "0", "paid"),
    ("posted", "reversed", "0", "cancelled"), ("cancel", "not_paid", "50", "cancelled"),
    ("draft", "not_paid", "50", "sent"),
])
def test_odoo_bill_status(state: str, payment_state: str, residual: str, expected: str) -> None:
    record = {"id": "9", "ref": "PAY-1", "partner_id": "7", "invoice_date": "2026-02-28", "state": state,
              "payment_state": payment_state, "amount_total": Decimal("50"), "amount_residual": Decimal(residual),
              "currency": "EUR", "write_date": "2026-03-05T10:00:00+00:00"}
    payout = ACCOUNT_MOVE.to_model(record)
    assert payout.status == expected and payout.amount == Money(amount=Decimal(50), currency="EUR")


def test_odoo_partner_both_ways() -> None:
    record = {"id": "3", "ref": "P-1", "name": "Acme GmbH", "zip": "10115", "country_code": "DE", "active": True,
              "vat": "DE 123 456 789", "write_date": "2026-03-05T10:00:00+00:00"}
    partner = RES_PARTNER.to_model(record)
    assert (partner.country, partner.postal_code, partner.tax_id) == ("DE", "10115", "DE123456789")
    out = RES_PARTNER.to_record({"name": "Acme", "status": "merged", "country": "DE"}, "P-1")
    assert out == {"name": "Acme", "active": False, "country_code": "DE", "ref": "P-1"}


def test_bill_records_for_both_erps() -> None:
    payout = Payout(id="PAY-1", partner_id="P-1", period="2026-02", amount=usd("60.00"), due_date=date(2026, 3, 31))
    lines = [BillLine("commission: gold", usd("10.00")), BillLine("spiff: q1", usd("50.00"))]
    ns = netsuite_bill(payout, "7", lines)
    assert ns == {"entity": {"id": "7"}, "tranDate": "2026-02-28", "dueDate": "2026-03-31", "externalId": "PAY-1",
                  "currency": "USD", "memo": "partnersync payout PAY-1 (2026-02)",
                  "expense": {"items": [{"amount": Decimal("10.00"), "memo": "commission: gold"},
                                        {"amount": Decimal("50.00"), "memo": "spiff: q1"}]}}
    odoo = odoo_bill(payout, "3", lines)
    assert odoo["ref"] == "PAY-1" and odoo["partner_id"] == 3 and odoo["invoice_date"] == "2026-02-28"
    assert odoo["invoice_line_ids"][1] == [0, 0, {"name": "spiff: q1", "price_unit": Decimal("50.00"), "quantity": 1}]
