"""Odoo connector against the Odoo sandbox over real HTTP (JSON-RPC execute_kw, paging, faults)."""

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests

from config.systems import ErpSettings, OdooSettings
from connectors.base import AuthError, ConnectorError, Cursor, RateLimited, TransientError
from connectors.erp import erp_connector
from connectors.erp.odoo import OdooConnector
from mapping.erp import BillLine
from mapping.model import Money, Payout
from mapping.odoo import ACCOUNT_MOVE, RES_PARTNER, bill_record
from sandbox.odoo import OdooSandbox
from sandbox.server import SandboxServer


@pytest.fixture
def sandbox() -> Iterator[tuple[OdooSandbox, str]]:
    odoo = OdooSandbox()
    with SandboxServer(odoo.app) as server:
        yield odoo, server.url


def settings(url: str, **changes: Any) -> ErpSettings:
    values: dict[str, Any] = {"database": "partner-program", "username": "finance-bot@example.com",
                              "api_key": "odoo-key", **changes}
    return ErpSettings(kind="odoo", base_url=url, retries=3, odoo=OdooSettings(**values))


def partner(connector: OdooConnector, hub_id: str = "P-1", name: str = "Acme") -> str:
    [result] = connector.push("partner", [{"ref": hub_id, "name": name}])
    assert result.success and result.external_id
    return result.external_id


def bill(payout_id: str, partner_id: str, *amounts: str, period: str = "2026-10") -> dict[str, Any]:
    total = sum((Decimal(a) for a in amounts), Decimal(0))
    payout = Payout(id=payout_id, partner_id="P-1", period=period, amount=Money(amount=total, currency="USD"))
    lines = [BillLine(f"commission: rule {i}", Money(amount=Decimal(a), currency="USD")) for i, a in enumerate(amounts)]
    return bill_record(payout, partner_id, lines)


def bills(odoo: OdooSandbox) -> list[dict[str, Any]]:
    return odoo.bill_list()


def test_partner_upsert_by_ref_is_idempotent_and_a_supplier(sandbox: tuple[OdooSandbox, str]) -> None:
    odoo, url = sandbox
    connector = OdooConnector(settings(url))
    record = RES_PARTNER.to_record({"name": "Acme GmbH", "website": "acme.de", "country": "DE"}, "P-1")
    [first] = connector.push("partner", [record])
    [second] = connector.push("partner", [{**record, "name": "Acme AG"}])
    assert first.created and not second.created and first.external_id == second.external_id
    [stored] = odoo.tables["res.partner"].values()
    assert stored["name"] == "Acme AG" and stored["supplier_rank"] > 0 and stored["country_code"] == "DE"
    [page] = list(connector.pull("partner", Cursor()))
    assert RES_PARTNER.to_model(page.records[0]).website == "acme.de"


def test_bill_push_twice_is_one_posted_bill(sandbox: tuple[OdooSandbox, str]) -> None:
    odoo, url = sandbox
    connector = OdooConnector(settings(url))
    record = bill("PAY-1", partner(connector), "10.50", "2.25")
    results = connector.push("payout", [record]) + connector.push("payout", [record])
    assert all(r.success for r in results) and len({r.external_id for r in results}) == 1
    [stored] = bills(odoo)
    assert stored["state"] == "posted" and stored["amount_total"] == Decimal("12.75")
    assert stored["invoice_date"] == "2026-10-31" and stored["currency_id"][1] == "USD"


class CrashAfterCreate(requests.Session):
    """The process dies right after Odoo created the draft bill, before it is posted."""

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        response = super().request(method, url, *args, **kwargs)
        args_sent = json.loads(kwargs.get("data") or b"{}").get("params", {}).get("args", [])
        if args_sent[3:5] == ["account.move", "create"]:
            raise SystemExit("crash")
        return response


def test_crash_between_create_and_post_still_yields_one_bill(sandbox: tuple[OdooSandbox, str]) -> None:
    odoo, url = sandbox
    record = bill("PAY-1", partner(OdooConnector(settings(url))), "100.00")
    with pytest.raises(SystemExit):
        OdooConnector(settings(url), session=CrashAfterCreate()).push("payout", [record])
    assert [b["state"] for b in bills(odoo)] == ["draft"]
    [result] = OdooConnector(settings(url)).push("payout", [record])
    assert result.success and not result.created
    assert [b["state"] for b in bills(odoo)] == ["posted"]


def test_changed_unpaid_bill_is_corrected_in_place(sandbox: tuple[OdooSandbox, str]) -> None:
    odoo, url = sandbox
    connector = OdooConnector(settings(url))
    partner_id = partner(connector)
    connector.push("payout", [bill("PAY-1", partner_id, "10.00")])
    [result] = connector.push("payout", [bill("PAY-1", partner_id, "10.00", "5.00")])
    assert result.success
    [stored] = bills(odoo)
    assert stored["amount_total"] == Decimal("15.00") and stored["state"] == "posted"
    odoo.pay(stored["id"], Decimal("1.00"))
    [refused] = connector.push("payout", [bill("PAY-1", partner_id, "20.00")])
    assert not refused.success and refused.error and refused.error.code == "BILL_PAID"


def test_payment_state_comes_back_incrementally_in_pages(sandbox: tuple[OdooSandbox, str]) -> None:
    odoo, url = sandbox
    connector = OdooConnector(settings(url, page_size=2))
    partner_id = partner(connector)
    assert all(r.success for r in connector.push("payout", [bill(f"PAY-{i}", partner_id, "50.00") for i in range(5)]))
    pages = list(connector.pull("payout", Cursor()))
    assert [r["ref"] for p in pages for r in p.records] == [f"PAY-{i}" for i in range(5)]
    assert all(len(p.records) <= 2 for p in pages)
    cursor = pages[-1].cursor

    ids = {b["ref"]: b["id"] for b in bills(odoo)}
    odoo.pay(ids["PAY-1"])
    odoo.pay(ids["PAY-2"], in_payment=True)
    odoo.pay(ids["PAY-3"], Decimal("20.00"))
    changed = {r["ref"]: ACCOUNT_MOVE.to_model(r) for p in connector.pull("payout", cursor) for r in p.records}
    assert {"PAY-1", "PAY-2", "PAY-3"} <= set(changed)
    assert changed["PAY-1"].status == "paid" and changed["PAY-1"].paid_at is not None
    assert changed["PAY-2"].status == "paid"
    assert changed["PAY-3"].status == "partially_paid"
    assert changed["PAY-3"].paid_amount == Money(amount=Decimal("20.00"), currency="USD")
    assert changed["PAY-3"].partner_id == partner_id and changed["PAY-3"].period == "2026-10"


def test_rate_limit_and_server_errors(sandbox: tuple[OdooSandbox, str]) -> None:
    odoo, url = sandbox
    connector = OdooConnector(settings(url))
    partner(connector)
    odoo.faults.inject(429, body="<html>Too Many Requests</html>", headers={"Retry-After": "7"})
    with pytest.raises(RateLimited) as limited:
        list(connector.pull("partner", Cursor()))
    assert limited.value.retry_after == 7
    odoo.faults.inject(502, times=1)
    assert next(iter(connector.pull("partner", Cursor()))).records
    odoo.faults.inject(503, times=10)
    with pytest.raises(TransientError):
        list(connector.pull("partner", Cursor()))


def test_locked_period_and_missing_vendor_are_record_errors(sandbox: tuple[OdooSandbox, str]) -> None:
    odoo, url = sandbox
    connector = OdooConnector(settings(url))
    partner_id = partner(connector)
    odoo.close_period("2026-09")
    locked, missing, fine = connector.push("payout", [
        bill("PAY-1", partner_id, "5.00", period="2026-09"),
        bill("PAY-2", "9999", "5.00"),
        bill("PAY-3", partner_id, "5.00"),
    ])
    assert not locked.success and locked.error and locked.error.code == "UserError"
    assert "lock date" in locked.error.message
    assert not missing.success and missing.error and missing.error.code == "ValidationError"
    assert fine.success
    assert sorted((b["ref"], b["state"]) for b in bills(odoo)) == [("PAY-1", "draft"), ("PAY-3", "posted")]
    odoo.lock_date = None
    [retried] = connector.push("payout", [bill("PAY-1", partner_id, "5.00", period="2026-09")])
    assert retried.success and sorted(b["state"] for b in bills(odoo)) == ["posted", "posted"]


def test_bad_credentials(sandbox: tuple[OdooSandbox, str]) -> None:
    _, url = sandbox
    with pytest.raises(AuthError, match="refused the login") as wrong:
        OdooConnector(settings(url, api_key="not-it")).push("partner", [{"ref": "P", "name": "A"}])
    assert "not-it" not in str(wrong.value)
    with pytest.raises(ConnectorError, match="does not exist"):
        OdooConnector(settings(url, database="nope")).check_schema()
    with pytest.raises(AuthError, match=r"erp\.odoo\.api_key"):
        OdooConnector(settings(url, api_key=None))


def test_check_schema(sandbox: tuple[OdooSandbox, str]) -> None:
    _, url = sandbox
    assert OdooConnector(settings(url)).check_schema() == []
    assert OdooConnector(settings(url, journal_code="NOPE")).check_schema() == ["account.journal[code=NOPE]"]


def test_erp_connector_follows_the_kind(sandbox: tuple[OdooSandbox, str]) -> None:
    _, url = sandbox
    assert erp_connector(settings(url)).system == "odoo"
