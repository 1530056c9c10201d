"""`partnersync demo`: every sandbox in-process, realistic seed data, full syncs, rules, payouts, summary.

Seeds partners and deals in Salesforce (and HubSpot when its sandbox is present), including duplicate
partners, a registration conflict, records that fail validation and a rate-limit episode, then runs the
real engine against the sandboxes over real HTTP, exactly as it would run against the vendors.
"""

import contextlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select

import config
from config import Settings
from connectors.erp import erp_connector
from sandbox.netsuite import NetSuiteSandbox
from sandbox.salesforce import SalesforceSandbox
from sandbox.server import SandboxServer
from sync import erp_payouts, incentives, payouts, reconcile
from sync.approvals import approve
from sync.engine import Engine, Progress, RunReport
from sync.store import Store
from sync.store.migrate import upgrade
from sync.store.tables import (
    AccrualRow,
    DuplicateCandidateRow,
    PartnerMergeRow,
    PartnerRow,
    PayoutRow,
    RegistrationConflictRow,
    SyncErrorRow,
)

EXAMPLE = Path(config.__file__).parent / "examples" / "program.yaml"


@dataclass
class DemoResult:
    runs: list[RunReport] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)


class Demo:
    """Owns the sandboxes and the hub database of one demo run."""

    def __init__(self, database: Path, records: int = 2000) -> None:
        self.database = database
        self.records = records
        self.salesforce = SalesforceSandbox()
        self.netsuite = NetSuiteSandbox()
        self.netsuite_server = SandboxServer(self.netsuite.app)
        self._stack = contextlib.ExitStack()
        self.settings: Settings | None = None
        self.store: Store | None = None

    def start(self) -> Settings:
        self._stack.enter_context(self.salesforce)
        self._stack.enter_context(self.netsuite_server)
        if self.database.exists():
            self.database.unlink()
        url = f"sqlite:///{self.database}"
        upgrade(url)
        program = yaml.safe_load(EXAMPLE.read_text())["program"]
        self.settings = Settings.model_validate({
            "database_url": url,
            "salesforce": {"instance_url": self.salesforce.url, "access_token": self.salesforce.access_token,
                           "login_url": self.salesforce.url, "verify_tls": self.salesforce.ca_file,
                           "retry_attempts": 2},
            "hubspot": {"enabled": False},
            "erp": {"kind": "netsuite", "base_url": f"{self.netsuite_server.url}/services/rest",
                    "netsuite": {"account_id": "1234567_SB1", "consumer_key": "ck", "consumer_secret": "cs",
                                 "token_id": "tk", "token_secret": "ts"}},
            "program": program,
        })
        self.store = Store(url)
        return self.settings

    def stop(self) -> None:
        if self.store is not None:
            self.store.dispose()
        self._stack.close()

    def seed(self) -> dict[str, int]:
        """Partners and deals with the mess real CRMs hold: duplicates, a conflict, bad records."""
        sf = self.salesforce
        partners = max(10, self.records // 5)
        ids = sf.seed_accounts(partners - 6)
        acme = sf.seed_accounts(1, Name="Acme Networks Inc.", Website="https://www.acme-networks.com",
                                BillingCountry="US", Phone="+1 415 555 0100")
        dupes = sf.seed_accounts(1, Name="ACME Networks, LLC", Website="http://acme-networks.com/partners",
                                 BillingCountry="US", Phone="(415) 555-0100")
        globex = sf.seed_accounts(2, Name="Globex Solutions GmbH", Website=None, BillingCountry="DE",
                                  Phone="+49 30 1234567")
        bad = sf.seed_accounts(2, Phone="call me maybe")
        ids += acme + dupes + globex
        deals = self.records - partners
        sf.seed_opportunities(max(0, deals - 3), ids)
        soon = (datetime.now(UTC) + timedelta(days=30)).date()
        conflict = {"PartnerSync_Customer_Name__c": "Initech Corporation",
                    "PartnerSync_Customer_Domain__c": "initech.com", "PartnerSync_Customer_Country__c": "US",
                    "PartnerSync_Products__c": "software", "StageName": "Prospecting", "CloseDate": soon,
                    "PartnerSync_Registration_Status__c": "submitted"}
        sf.seed_opportunities(1, acme, Name="Initech - platform rollout", **conflict)
        sf.seed_opportunities(1, globex[:1], Name="Initech Corp - software refresh", **conflict)
        sf.seed_opportunities(1, ids[:1], Name="Bad deal", Amount=-5, CurrencyIsoCode="XXX")
        return {"partners": partners, "duplicates planted": 3, "bad partners": len(bad), "deals": deals}

    def run(self, progress: Progress | None = None) -> DemoResult:
        assert self.settings is not None and self.store is not None
        settings, store, result = self.settings, self.store, DemoResult()
        engine = Engine(store, settings)
        # a rate-limit episode: the first deal query hits the daily limit, the run stops cleanly, the next resumes
        self.salesforce.faults.inject(403, path=r"/query", times=1, body='[{"errorCode": "REQUEST_LIMIT_EXCEEDED",'
                                      ' "message": "TotalRequests Limit exceeded."}]')
        result.runs += engine.cycle(entity="partner", progress=progress)
        result.runs += engine.cycle(progress=progress)
        result.runs += engine.cycle(progress=progress)
        now = datetime.now(UTC)
        incentives.accrue(store, settings, now)
        with store.session() as session:
            approve(session, settings.program, by="demo finance", now=now, ids=None)
            periods = sorted(set(session.scalars(select(AccrualRow.period).where(AccrualRow.status == "approved"))))
        built = 0
        for period in periods:
            with store.session() as session:
                built += len(payouts.build(session, settings, period, now).created)
        connector = erp_connector(settings.erp)
        sent = erp_payouts.send(store, settings, connector)
        bills = self.netsuite.bill_list()
        for bill in bills[: len(bills) * 2 // 3]:
            self.netsuite.pay(bill["id"])
        if bills:
            self.netsuite.pay(bills[-1]["id"], Decimal(bills[-1]["amountRemaining"]) / 2)
        erp_payouts.payments(store, settings, connector, datetime.now(UTC))
        result.runs += engine.cycle(progress=progress)
        differences = []
        found = erp_payouts.bills(settings, connector)
        with store.session() as session:
            for period in periods:
                differences += reconcile.reconcile(session, period, found)
        result.facts = self._facts(built, len(sent.sent), len(differences), periods)
        return result

    def _facts(self, built: int, sent: int, differences: int, periods: list[str]) -> dict[str, Any]:
        assert self.store is not None
        with self.store.session() as s:
            def count(*where: Any, row: Any = PartnerRow) -> int:
                return int(s.scalar(select(func.count()).select_from(row).where(*where)) or 0)

            paid = s.scalar(select(func.sum(PayoutRow.paid_amount))) or Decimal(0)
            total = s.scalar(select(func.sum(PayoutRow.amount))) or Decimal(0)
            errors = Counter(dict(s.execute(select(SyncErrorRow.category, func.count()).where(
                SyncErrorRow.status == "open").group_by(SyncErrorRow.category)).all()))
            return {
                "hub partners": count(PartnerRow.status == "active"),
                "duplicates merged": count(row=PartnerMergeRow),
                "duplicates to review": count(DuplicateCandidateRow.status == "open", row=DuplicateCandidateRow),
                "registration conflicts": count(row=RegistrationConflictRow),
                "accruals booked": count(row=AccrualRow),
                "payouts": f"{built} built, {sent} sent as NetSuite bills for {', '.join(periods) or '-'}",
                "paid": f"{paid:,.2f} of {total:,.2f} {self.settings.program.currency if self.settings else ''}",
                "reconciliation differences": differences,
                "quarantined": ", ".join(f"{k}={v}" for k, v in errors.items()) or "0",
            }
