"""ERP round trip against the sandboxes: push N payouts as bills, pay them, pull the status back.

Prints per ERP: bills pushed/s, bills pulled/s, API calls, peak RSS. Default `--records 200` keeps it
a few seconds (CI smoke); try `--records 5000` for a real figure. Last line:
`erp_bills_pulled_per_s=<n>` (the slower ERP).
"""

import argparse
import resource
import time
from decimal import Decimal
from typing import Any

from config.systems import ErpSettings, NetSuiteSettings, OdooSettings
from connectors.base import Connector, Cursor
from connectors.erp.netsuite import NetSuiteConnector
from connectors.erp.odoo import OdooConnector
from mapping import netsuite, odoo
from mapping.erp import BillLine
from mapping.model import Money, Payout
from sandbox.netsuite import NetSuiteSandbox
from sandbox.odoo import OdooSandbox
from sandbox.server import SandboxServer


def payouts(count: int) -> list[tuple[Payout, list[BillLine]]]:
    made = []
    for i in range(count):
        lines = [BillLine("commission: gold", Money(amount=Decimal("100.10"), currency="USD")),
                 BillLine("spiff: q4", Money(amount=Decimal("25.00"), currency="USD"))]
        made.append((Payout(id=f"PAY-{i}", partner_id="P-1", period="2026-10",
                            amount=Money(amount=Decimal("125.10"), currency="USD")), lines))
    return made


def run(name: str, connector: Connector, vendor: dict[str, Any], bill: Any, pay: Any, count: int) -> float:
    [created] = connector.push("partner", [vendor])
    records = [bill(payout, created.external_id, lines) for payout, lines in payouts(count)]
    start = time.perf_counter()
    for i in range(0, len(records), 100):
        assert all(r.success for r in connector.push("payout", records[i:i + 100]))
    pushed = time.perf_counter() - start
    pay()
    calls = connector.usage.calls
    start = time.perf_counter()
    pulled = sum(len(page.records) for page in connector.pull("payout", Cursor()))
    elapsed = time.perf_counter() - start
    print(f"{name}: pushed {count} bills at {count / pushed:.0f}/s; pulled {pulled} at {pulled / elapsed:.0f}/s "
          f"in {connector.usage.calls - calls} calls")
    return pulled / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=200, help="payouts per ERP (default 200)")
    count = parser.parse_args().records
    ns = NetSuiteSandbox()
    od = OdooSandbox()
    with SandboxServer(ns.app) as ns_server, SandboxServer(od.app) as od_server:
        ns_settings = NetSuiteSettings(account_id="1234567_SB1", consumer_key="ck", consumer_secret="cs",
                                       token_id="tk", token_secret="ts")
        ns_connector = NetSuiteConnector(ErpSettings(base_url=f"{ns_server.url}/services/rest", netsuite=ns_settings))
        od_connector = OdooConnector(ErpSettings(kind="odoo", base_url=od_server.url, odoo=OdooSettings(
            database="partner-program", username="finance-bot@example.com", api_key="odoo-key")))

        def pay_netsuite() -> None:
            for bill in ns.bill_list():
                ns.pay(bill["id"])

        def pay_odoo() -> None:
            for bill in od.bill_list():
                od.pay(bill["id"])

        rates = [
            run("netsuite", ns_connector, {"externalId": "P-1", "companyName": "Acme"}, netsuite.bill_record,
                pay_netsuite, count),
            run("odoo", od_connector, {"ref": "P-1", "name": "Acme"}, odoo.bill_record, pay_odoo, count),
        ]
    print(f"peak_rss_mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
    print(f"erp_bills_pulled_per_s={min(rates):.0f}")


if __name__ == "__main__":
    main()
