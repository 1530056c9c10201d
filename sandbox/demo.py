"""`partnersync demo`: every sandbox in-process, realistic seed data, full syncs, rules, payouts, alerts.

Salesforce, HubSpot and NetSuite sandboxes on free local ports, seeded by `sandbox.demo_seed`; the real
engine runs against them over real HTTP, exactly as it would run against the vendors, with a rate-limit
episode on each CRM (Salesforce's 403 REQUEST_LIMIT_EXCEEDED, HubSpot's 429 with Retry-After) that
ends a run cleanly and the next run resumes from its cursor. Finance then edits one NetSuite bill by
hand, so reconciliation has a difference to find and an alert to raise.
"""

import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

import config
from config import Settings
from connectors.erp import erp_connector
from sandbox.demo_seed import Seeded, seed
from sandbox.hubspot import HubSpotSandbox, ready
from sandbox.hubspot_webhooks import Deliveries
from sandbox.netsuite import NetSuiteSandbox
from sandbox.salesforce import SalesforceSandbox
from sandbox.server import SandboxServer
from sync import alerts, erp_payouts, incentives, payouts, reconcile
from sync.approvals import approve
from sync.background import BackgroundPulls
from sync.engine import Engine, Progress, RunReport
from sync.reconcile import Difference
from sync.store import Store
from sync.store.migrate import upgrade
from sync.store.tables import AccrualRow

EXAMPLE = Path(config.__file__).parent / "examples" / "program.yaml"
SF_LIMIT = '[{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit exceeded."}]'
HS_LIMIT = ('{"status": "error", "message": "You have reached your secondly limit.", "errorType": "RATE_LIMIT",'
            ' "category": "RATE_LIMITS", "policyName": "SECONDLY"}')


@dataclass
class DemoResult:
    runs: list[RunReport] = field(default_factory=list)
    periods: list[str] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)


class Demo:
    """Owns the sandboxes and the hub database of one demo run."""

    def __init__(self, database: Path, records: int = 2000) -> None:
        self.database = database
        self.records = records
        self.salesforce = SalesforceSandbox()
        # HubSpot's limits are lifted so the one 429 below is the only one (the run must not depend on speed)
        self.hubspot = ready(HubSpotSandbox(window_limit=100_000, search_per_second=1_000))
        self.netsuite = NetSuiteSandbox()
        self.netsuite_server = SandboxServer(self.netsuite.app)
        self._stack = contextlib.ExitStack()
        self.settings: Settings | None = None
        self.config: dict[str, Any] = {}
        self.store: Store | None = None
        self.pulls: BackgroundPulls | None = None
        self.webhooks: Deliveries | None = None

    def start(self) -> Settings:
        for sandbox in (self.salesforce, self.hubspot, self.netsuite_server):
            self._stack.enter_context(sandbox)
        for stale in (self.database, *(self.database.with_name(self.database.name + s) for s in ("-wal", "-shm"))):
            stale.unlink(missing_ok=True)  # a WAL left by an earlier run would be replayed into the new file
        url = f"sqlite:///{self.database}"
        upgrade(url)
        program = yaml.safe_load(EXAMPLE.read_text())["program"]
        self.config = {
            "database_url": url,
            "salesforce": {"instance_url": self.salesforce.url, "access_token": self.salesforce.access_token,
                           "login_url": self.salesforce.url, "verify_tls": self.salesforce.ca_file,
                           "retry_attempts": 2},
            "hubspot": {"base_url": self.hubspot.url, "access_token": self.hubspot.access_token,
                        "client_secret": "demo-app-client-secret"},
            "erp": {"kind": "netsuite", "base_url": f"{self.netsuite_server.url}/services/rest",
                    "netsuite": {"account_id": "1234567_SB1", "consumer_key": "ck", "consumer_secret": "cs",
                                 "token_id": "tk", "token_secret": "ts"}},
            "program": program,
        }
        self.settings = Settings.model_validate(self.config)
        self.store = Store(url)
        return self.settings

    def deliver_webhooks(self, url: str) -> None:
        """From now on every change in the HubSpot sandbox is posted to `url` as a signed v3 webhook."""
        assert self.settings is not None and self.settings.hubspot.client_secret is not None
        self.webhooks = Deliveries(url, self.settings.hubspot.client_secret.get_secret_value())
        self.hubspot.on_change = self.webhooks

    def write_config(self, path: Path) -> Path:
        """The demo's settings as a file, so workers and commands can run against the live sandboxes."""
        note = ("# Written by `partnersync demo` for its sandboxes (local, throw-away credentials);\n"
                "# valid while the demo serves. Use: PARTNERSYNC_CONFIG=<this file> dramatiq worker\n")
        path.write_text(note + yaml.safe_dump(self.config, sort_keys=False), encoding="utf-8")
        return path

    def stop(self) -> None:
        self.hubspot.on_change = None
        if self.webhooks is not None:
            self.webhooks.stop()
        if self.pulls is not None:
            self.pulls.stop()
        if self.store is not None:
            self.store.dispose()
        self._stack.close()

    def seed(self) -> Seeded:
        return seed(self.salesforce, self.hubspot, self.records)

    def run(self, progress: Progress | None = None) -> DemoResult:
        """Full syncs through both rate-limit episodes, then incentives paid through NetSuite and back."""
        assert self.settings is not None and self.store is not None
        settings, store, result = self.settings, self.store, DemoResult()
        engine = Engine(store, settings)
        self.salesforce.faults.inject(403, path=r"/query", times=1, body=SF_LIMIT)
        self.hubspot.faults.inject(429, path=r"/objects/deals/search", times=1, body=HS_LIMIT,
                                   headers={"Retry-After": "1", "Content-Type": "application/json"})
        result.runs += engine.cycle(entity="partner", progress=progress)  # Salesforce: 403, stops cleanly
        result.runs += engine.cycle(progress=progress)  # Salesforce resumes; HubSpot deals: 429, stop cleanly
        result.runs += engine.cycle("hubspot", "deal", progress=progress)  # ... and resume from their cursor
        result.periods = self._payouts()
        result.runs += engine.cycle(progress=progress)  # bills to NetSuite, incentive figures to the CRMs
        bills = self.netsuite.bill_list()
        for bill in bills[: len(bills) * 2 // 3]:
            self.netsuite.pay(bill["id"])
        if bills:
            self.netsuite.pay(bills[-1]["id"], Decimal(bills[-1]["amountRemaining"]) / 2)
        result.runs += engine.cycle(progress=progress)  # payments back to the hub and on to the CRMs
        if len(bills) > 2:
            self.netsuite.adjust(bills[-2]["id"], Decimal("25.00"))  # finance edits a bill by hand
        found, now = erp_payouts.bills(settings, erp_connector(settings.erp)), datetime.now(UTC)
        for period in result.periods:
            with store.session() as session:
                differences = reconcile.check(session, period, found, now)
            result.differences += differences
        alerts.evaluate(store, settings, now)
        self.pulls = BackgroundPulls(engine, "hubspot")
        return result

    def _payouts(self) -> list[str]:
        """Accrue, approve as finance would, and build one payout per partner x period."""
        assert self.settings is not None and self.store is not None
        now = datetime.now(UTC)
        incentives.accrue(self.store, self.settings, now)
        with self.store.session() as session:
            approve(session, self.settings.program, by="demo finance", now=now, ids=None)
            periods = sorted(set(session.scalars(select(AccrualRow.period).where(AccrualRow.status == "approved"))))
        for period in periods:
            with self.store.session() as session:
                payouts.build(session, self.settings, period, now)
        return periods
