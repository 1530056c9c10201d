"""The ERP sandboxes answer as the vendors document, for any client (raw HTTP here, not our connectors)."""

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests
from requests_oauthlib import OAuth1

from connectors.erp.http import loads
from sandbox.netsuite import NetSuiteSandbox
from sandbox.odoo import OdooSandbox
from sandbox.server import SandboxServer

SIGNED = OAuth1("ck", "cs", "tk", "ts", signature_method="HMAC-SHA256", realm="1234567_SB1")


@pytest.fixture
def netsuite() -> Iterator[tuple[NetSuiteSandbox, str]]:
    ns = NetSuiteSandbox()
    with SandboxServer(ns.app) as server:
        yield ns, f"{server.url}/services/rest"


def suiteql(url: str, query: str, *, params: str = "", prefer: bool = True) -> requests.Response:
    headers = {"Prefer": "transient"} if prefer else {}
    return requests.post(f"{url}/query/v1/suiteql{params}", json={"q": query}, headers=headers, auth=SIGNED,
                         timeout=5)


def test_netsuite_signature_covers_query_parameters(netsuite: tuple[NetSuiteSandbox, str]) -> None:
    _, url = netsuite
    ok = requests.put(f"{url}/record/v1/vendor/eid:V-1?replace=expense", json={"companyName": "Acme"},
                      auth=SIGNED, timeout=5)
    assert ok.status_code == 204 and ok.headers["Location"].endswith("/record/v1/vendor/100")
    prepared = requests.Request("GET", f"{url}/record/v1/vendor/100", auth=SIGNED).prepare()
    prepared.url = f"{url}/record/v1/vendor/100?expandSubResources=true"
    tampered = requests.Session().send(prepared, timeout=5)
    assert tampered.status_code == 401
    assert tampered.json()["o:errorDetails"][0]["o:errorCode"] == "INVALID_LOGIN"
    assert requests.get(f"{url}/record/v1/vendor/100", timeout=5).status_code == 401


def test_suiteql_pages_and_shows_values_like_netsuite(netsuite: tuple[NetSuiteSandbox, str]) -> None:
    _, url = netsuite
    for i in range(3):
        requests.put(f"{url}/record/v1/vendor/eid:V-{i}", json={"companyName": f"V{i}", "email": None}, auth=SIGNED,
                     timeout=5)
    query = "SELECT id, companyname, email, isinactive, lastmodifieddate FROM vendor ORDER BY id"
    first = suiteql(url, query, params="?limit=2&offset=0").json()
    assert (first["count"], first["hasMore"], first["totalResults"]) == (2, True, 3)
    row = first["items"][0]
    assert "email" not in row and row["isinactive"] == "F" and "/" in row["lastmodifieddate"]
    last = suiteql(url, query, params="?limit=2&offset=2").json()
    assert (last["count"], last["hasMore"]) == (1, False)
    assert suiteql(url, query, params="?limit=2&offset=1").status_code == 400
    assert suiteql(url, query, prefer=False).status_code == 400
    unknown = suiteql(url, "SELECT nosuchfield FROM vendor")
    assert unknown.status_code == 400 and "nosuchfield" in unknown.json()["o:errorDetails"][0]["detail"]


def test_netsuite_operator_routes(netsuite: tuple[NetSuiteSandbox, str]) -> None:
    ns, url = netsuite
    requests.put(f"{url}/record/v1/vendor/eid:V-1", json={"companyName": "Acme"}, auth=SIGNED, timeout=5)
    body: dict[str, Any] = {"entity": {"id": "100"}, "tranDate": "2026-10-31",
                            "expense": {"items": [{"account": {"id": "6100"}, "amount": 30}]}}
    assert requests.put(f"{url}/record/v1/vendorBill/eid:B-1", json=body, auth=SIGNED, timeout=5).status_code == 204
    root = url.removesuffix("/services/rest")
    paid = requests.post(f"{root}/_sandbox/bills/101/pay", json={"amount": "10.00"}, timeout=5)
    assert paid.status_code == 200 and ns.bills["101"]["amountRemaining"] == Decimal("20.00")
    assert requests.post(f"{root}/_sandbox/periods/2026-11/close", timeout=5).json() == {"closed": "2026-11"}
    [listed] = loads(requests.get(f"{root}/_sandbox/bills", timeout=5).text)
    assert listed["externalId"] == "B-1" and listed["amountPaid"] == Decimal("10.00")


def test_odoo_json_rpc_errors_and_authenticate() -> None:
    odoo = OdooSandbox()
    with SandboxServer(odoo.app) as server:
        def rpc(service: str, method: str, *args: Any) -> dict[str, Any]:
            payload = {"jsonrpc": "2.0", "method": "call", "id": 1,
                       "params": {"service": service, "method": method, "args": list(args)}}
            body: dict[str, Any] = requests.post(f"{server.url}/jsonrpc", json=payload, timeout=5).json()
            return body

        assert rpc("common", "authenticate", "partner-program", "finance-bot@example.com", "bad", {})["result"] is False
        uid = rpc("common", "authenticate", "partner-program", "finance-bot@example.com", "odoo-key", {})["result"]
        denied = rpc("object", "execute_kw", "partner-program", uid, "bad", "res.partner", "search", [[]])
        assert denied["error"]["data"]["name"] == "odoo.exceptions.AccessDenied"
        created = rpc("object", "execute_kw", "partner-program", uid, "odoo-key", "res.partner", "create",
                      [{"name": "Acme", "active": False}])["result"]
        hidden = rpc("object", "execute_kw", "partner-program", uid, "odoo-key", "res.partner", "search", [[]])
        shown = rpc("object", "execute_kw", "partner-program", uid, "odoo-key", "res.partner", "search", [[]],
                    {"context": {"active_test": False}})
        assert hidden["result"] == [] and shown["result"] == [created]
        bad_domain = rpc("object", "execute_kw", "partner-program", uid, "odoo-key", "res.partner", "search",
                         [["|", ("name", "=", "x")]])
        assert bad_domain["error"]["data"]["name"] == "builtins.ValueError"
