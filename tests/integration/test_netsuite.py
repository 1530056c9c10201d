"""NetSuite connector against the NetSuite sandbox over real HTTP (TBA-signed, SuiteQL paging, faults)."""

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests

from config.systems import ErpSettings, NetSuiteSettings
from connectors.base import AuthError, Cursor, RateLimited, TransientError
from connectors.erp.netsuite import NetSuiteConnector
from mapping.erp import BillLine
from mapping.model import Money, Payout
from mapping.netsuite import VENDOR_BILL, bill_record
from sandbox.netsuite import NetSuiteSandbox, concurrency_fault
from sandbox.server import SandboxServer

ZONE = "America/Los_Angeles"


@pytest.fixture
def sandbox() -> Iterator[tuple[NetSuiteSandbox, str]]:
    ns = NetSuiteSandbox(timezone=ZONE)
    with SandboxServer(ns.app) as server:
        yield ns, server.url


def settings(url: str, **changes: Any) -> ErpSettings:
    values: dict[str, Any] = {"account_id": "1234567_SB1", "consumer_key": "ck", "consumer_secret": "cs",
                              "token_id": "tk", "token_secret": "ts", "timezone": ZONE, **changes}
    return ErpSettings(base_url=f"{url}/services/rest", retries=3, netsuite=NetSuiteSettings(**values))


def vendor(connector: NetSuiteConnector, hub_id: str = "P-1", name: str = "Acme") -> str:
    [result] = connector.push("partner", [{"externalId": hub_id, "companyName": name}])
    assert result.success and result.external_id
    return result.external_id


def bill(payout_id: str, vendor_id: str, *amounts: str, period: str = "2026-10") -> dict[str, Any]:
    total = sum((Decimal(a) for a in amounts), Decimal(0))
    payout = Payout(id=payout_id, partner_id="P-1", period=period, amount=Money(amount=total, currency="USD"))
    lines = [BillLine(f"commission: rule {i}", Money(amount=Decimal(a), currency="USD")) for i, a in enumerate(amounts)]
    return bill_record(payout, vendor_id, lines)


def test_vendor_upsert_by_external_id_is_idempotent(sandbox: tuple[NetSuiteSandbox, str]) -> None:
    ns, url = sandbox
    connector = NetSuiteConnector(settings(url))
    first = vendor(connector, name="Acme")
    second = vendor(connector, name="Acme Inc")
    assert first == second
    assert [v["companyName"] for v in ns.vendors.values()] == ["Acme Inc"]


def test_bill_push_twice_is_one_bill_with_the_lines_replaced(sandbox: tuple[NetSuiteSandbox, str]) -> None:
    ns, url = sandbox
    connector = NetSuiteConnector(settings(url))
    record = bill("PAY-1", vendor(connector), "10.50", "2.25")
    results = connector.push("payout", [record]) + connector.push("payout", [record])
    assert all(r.success for r in results) and len({r.external_id for r in results}) == 1
    [stored] = ns.bill_list()
    assert stored["total"] == Decimal("12.75") and len(stored["expense"]) == 2
    assert stored["tranDate"].isoformat() == "2026-10-31"


class CrashAfterResponse(requests.Session):
    """The process dies after NetSuite created the bill, before the answer is processed."""

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        response = super().request(method, url, *args, **kwargs)
        if "/vendorBill/" in str(url):
            raise SystemExit("crash")
        return response


def test_crash_after_bill_created_then_push_again_is_still_one_bill(sandbox: tuple[NetSuiteSandbox, str]) -> None:
    ns, url = sandbox
    vendor_id = vendor(NetSuiteConnector(settings(url)))
    record = bill("PAY-1", vendor_id, "100.00")
    with pytest.raises(SystemExit):
        NetSuiteConnector(settings(url), session=CrashAfterResponse()).push("payout", [record])
    assert len(ns.bill_list()) == 1
    [result] = NetSuiteConnector(settings(url)).push("payout", [record])
    assert result.success and result.external_id == ns.bill_list()[0]["id"]
    assert len(ns.bill_list()) == 1


def test_payment_status_comes_back_incrementally_in_pages(sandbox: tuple[NetSuiteSandbox, str]) -> None:
    ns, url = sandbox
    connector = NetSuiteConnector(settings(url, page_size=2))
    vendor_id = vendor(connector)
    records = [bill(f"PAY-{i}", vendor_id, "40.00", "10.00") for i in range(5)]
    assert all(r.success for r in connector.push("payout", records))
    pages = list(connector.pull("payout", Cursor()))
    assert [len(p.records) for p in pages] == [2, 2, 1]
    assert [r["externalId"] for p in pages for r in p.records] == [f"PAY-{i}" for i in range(5)]
    cursor = pages[-1].cursor
    stored = {b["externalId"]: b["lastModifiedDate"] for b in ns.bill_list()}
    assert all(r["lastModifiedDate"] == stored[r["externalId"]].isoformat() for p in pages for r in p.records)
    assert sum(len(p.records) for p in connector.pull("payout", cursor, full=True)) == 5
    again = [r for p in connector.pull("payout", cursor) for r in p.records]
    assert {r["lastModifiedDate"] for r in again} <= {cursor.modified_at.isoformat() if cursor.modified_at else ""}

    ids = {b["externalId"]: b["id"] for b in ns.bill_list()}
    ns.pay(ids["PAY-1"])
    ns.pay(ids["PAY-3"], Decimal("20.00"))
    changed = [r for p in connector.pull("payout", cursor) for r in p.records]
    assert {"PAY-1", "PAY-3"} <= {r["externalId"] for r in changed}
    payouts = {r["externalId"]: VENDOR_BILL.to_model(r) for r in changed}
    assert payouts["PAY-1"].status == "paid" and payouts["PAY-1"].paid_amount == Money(amount=50, currency="USD")
    assert payouts["PAY-1"].paid_at is not None
    assert payouts["PAY-3"].status == "partially_paid"
    assert payouts["PAY-3"].paid_amount == Money(amount=Decimal("20.00"), currency="USD")
    assert payouts["PAY-3"].amount == Money(amount=Decimal("50.00"), currency="USD")
    assert payouts["PAY-3"].period == "2026-10" and payouts["PAY-3"].partner_id == vendor_id


def test_vendors_pull_with_inactive_flag(sandbox: tuple[NetSuiteSandbox, str]) -> None:
    _, url = sandbox
    connector = NetSuiteConnector(settings(url))
    vendor_id = vendor(connector)
    assert connector.archive("partner", [vendor_id])[0].success
    [page] = list(connector.pull("partner", Cursor()))
    assert page.records[0]["isInactive"] is True and page.records[0]["externalId"] == "P-1"


def test_concurrency_limit_is_rate_limited(sandbox: tuple[NetSuiteSandbox, str]) -> None:
    ns, url = sandbox
    connector = NetSuiteConnector(settings(url))
    ns.faults.inject(429, body=concurrency_fault(), path="/vendor/")
    with pytest.raises(RateLimited, match="CONCURRENCY_LIMIT_EXCEEDED"):
        connector.push("partner", [{"externalId": "P-1", "companyName": "Acme"}])


def test_server_errors_are_retried_then_transient(sandbox: tuple[NetSuiteSandbox, str]) -> None:
    ns, url = sandbox
    connector = NetSuiteConnector(settings(url))
    ns.faults.inject(503, times=1, path="/vendor/")
    assert connector.push("partner", [{"externalId": "P-1", "companyName": "Acme"}])[0].success
    ns.faults.inject(502, times=10, path="/suiteql")
    calls = connector.usage.calls
    with pytest.raises(TransientError):
        list(connector.pull("partner", Cursor()))
    assert connector.usage.calls - calls == 3


def test_closed_period_and_missing_vendor_are_record_errors(sandbox: tuple[NetSuiteSandbox, str]) -> None:
    ns, url = sandbox
    connector = NetSuiteConnector(settings(url))
    vendor_id = vendor(connector)
    ns.close_period("2026-09")
    gone = vendor(connector, "P-2", "Gone Ltd")
    ns.delete_vendor(gone)
    closed, missing, fine = connector.push("payout", [
        bill("PAY-1", vendor_id, "5.00", period="2026-09"),
        bill("PAY-2", gone, "5.00"),
        bill("PAY-3", vendor_id, "5.00"),
    ])
    assert not closed.success and closed.error and closed.error.code == "USER_ERROR"
    assert closed.error.fields == ("tranDate",) and "closed" in closed.error.message
    assert not missing.success and missing.error and missing.error.fields == ("entity",)
    assert fine.success
    assert [b["externalId"] for b in ns.bill_list()] == ["PAY-3"]


def test_bad_credentials_are_auth_errors_without_secrets(sandbox: tuple[NetSuiteSandbox, str]) -> None:
    _, url = sandbox
    with pytest.raises(AuthError, match="INVALID_LOGIN") as wrong_secret:
        NetSuiteConnector(settings(url, token_secret="not-it")).push("partner", [{"externalId": "P",
                                                                                "companyName": "A"}])
    assert "not-it" not in str(wrong_secret.value)
    with pytest.raises(AuthError):
        list(NetSuiteConnector(settings(url, account_id="7654321")).pull("partner", Cursor()))
    with pytest.raises(AuthError, match=r"erp\.netsuite\.token_secret"):
        NetSuiteConnector(settings(url, token_secret=None))


def test_check_schema_names_what_is_missing(sandbox: tuple[NetSuiteSandbox, str]) -> None:
    _, url = sandbox
    assert NetSuiteConnector(settings(url)).check_schema() == []
    assert NetSuiteConnector(settings(url, expense_account="9999")).check_schema() == ["account/9999"]


def test_bills_entered_by_hand_in_netsuite_are_not_pulled(sandbox: tuple[NetSuiteSandbox, str]) -> None:
    ns, url = sandbox
    connector = NetSuiteConnector(settings(url))
    connector.push("payout", [bill("PAY-1", vendor(connector), "5.00")])
    manual = dict(ns.bill_list()[0], id="999", externalId=None, tranId="BILL-MANUAL")
    ns.bills["999"] = manual
    assert [r["externalId"] for p in connector.pull("payout", Cursor()) for r in p.records] == ["PAY-1"]
