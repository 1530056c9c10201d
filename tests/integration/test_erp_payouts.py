"""A period's payouts reach both ERP sandboxes as bills over real HTTP, come back paid, reconcile clean."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from config import Settings
from connectors.base import Connector
from connectors.erp import erp_connector
from mapping import netsuite, odoo
from sandbox.netsuite import NetSuiteSandbox
from sandbox.odoo import OdooSandbox
from sandbox.server import SandboxServer
from sync import erp_payouts, incentives
from sync.approvals import approve
from sync.payouts import build
from sync.reconcile import reconcile
from sync.store import Store
from sync.store.tables import AccrualRow, ExternalLinkRow, OutboxRow, PartnerRow, PayoutRow, SyncErrorRow
from tests.integration.incentive_data import NOW, deal, partner, program

PERIOD = "2026-11"


@dataclass
class Erp:
    kind: str
    sandbox: Any
    url: str

    def settings(self) -> Settings:
        if self.kind == "odoo":
            erp: dict[str, Any] = {"kind": "odoo", "base_url": self.url, "retries": 3,
                                   "odoo": {"database": "partner-program", "username": "finance-bot@example.com",
                                            "api_key": "odoo-key"}}
        else:
            erp = {"kind": "netsuite", "base_url": f"{self.url}/services/rest", "retries": 3,
                   "netsuite": {"account_id": "1234567_SB1", "consumer_key": "ck", "consumer_secret": "cs",
                                "token_id": "tk", "token_secret": "ts"}}
        return Settings(program=program(), erp=erp)

    def vendor(self, connector: Connector, hub_id: str) -> str:
        fmap = odoo.RES_PARTNER if self.kind == "odoo" else netsuite.VENDOR
        [result] = connector.push("partner", [fmap.to_record({"name": f"Partner {hub_id}"}, hub_id)])
        assert result.success and result.external_id
        return result.external_id

    def bills(self) -> list[dict[str, Any]]:
        return list(self.sandbox.bill_list())

    def pay(self, bill_id: str) -> None:
        self.sandbox.pay(int(bill_id) if self.kind == "odoo" else bill_id)


@pytest.fixture(params=["netsuite", "odoo"])
def erp(request: pytest.FixtureRequest) -> Iterator[Erp]:
    sandbox: Any = NetSuiteSandbox() if request.param == "netsuite" else OdooSandbox()
    with SandboxServer(sandbox.app) as server:
        yield Erp(request.param, sandbox, server.url)


class CrashAfterBill(requests.Session):
    """The process dies right after the ERP answered the request that created the bill."""

    def __init__(self, creates_bill: Callable[[str, bytes], bool]) -> None:
        super().__init__()
        self.creates_bill = creates_bill

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        response = super().request(method, url, *args, **kwargs)
        body = kwargs.get("data") or kwargs.get("json") or b""
        body = body if isinstance(body, bytes) else str(body).encode()
        if response.ok and self.creates_bill(str(url), body):
            raise SystemExit("crash between 'bill created' and 'payout marked sent'")
        return response


def crashing(erp: Erp, settings: Settings) -> Connector:
    from connectors.erp.netsuite import NetSuiteConnector
    from connectors.erp.odoo import OdooConnector

    if erp.kind == "odoo":
        return OdooConnector(settings.erp, session=CrashAfterBill(
            lambda url, body: b"account.move" in body and b'"create"' in body))
    return NetSuiteConnector(settings.erp, session=CrashAfterBill(lambda url, body: "/vendorBill/" in url))


def seed(store: Store, erp: Erp, connector: Connector) -> None:
    with store.session() as s:
        partner(s, "p1", salesforce="001P1")
        s.add(ExternalLinkRow(entity="partner", hub_id="p1", system=erp.kind, external_id=erp.vendor(connector, "p1")))
        partner(s, "p2")
        s.add(ExternalLinkRow(entity="partner", hub_id="p2", system=erp.kind, external_id=erp.vendor(connector, "p2")))
        deal(s, "d1", "p1", "2026-09-15", "120000")
        deal(s, "d2", "p1", "2026-10-10", "20000", "EUR", {"software": "15000", "services": "5000"})
        deal(s, "d3", "p2", "2026-11-02", "1234567", "JPY")


def test_payouts_reach_the_erp_once_come_back_paid_and_reconcile_clean(store: Store, erp: Erp) -> None:
    settings = erp.settings()
    connector = erp_connector(settings.erp)
    seed(store, erp, connector)
    incentives.accrue(store, settings, NOW)
    with store.session() as s:
        approve(s, settings.program, by="ann", now=NOW)
        created = build(s, settings, PERIOD, NOW).created
    assert len(created) == 2

    with pytest.raises(SystemExit):
        erp_payouts.send(store, settings, crashing(erp, settings))
    assert len(erp.bills()) == 1
    with store.session() as s:
        assert s.scalar(select(func.count()).where(PayoutRow.status == "sent")) == 0
    report = erp_payouts.send(store, settings, connector)
    assert sorted(report.sent) == sorted(created) and not report.failed
    assert erp_payouts.send(store, settings, connector).sent == []
    bills = erp.bills()
    assert len(bills) == 2
    with store.session() as s:
        payouts = {p.id: p for p in s.scalars(select(PayoutRow))}
        assert {p.status for p in payouts.values()} == {"sent"}
        assert s.scalar(select(func.count()).where(OutboxRow.entity == "payout", OutboxRow.status != "sent")) == 0
    pulled = erp_payouts.bills(settings, connector)
    assert {b.payout_id for b in pulled} == set(created)
    assert {b.payout_id: b.amount for b in pulled} == {i: p.amount for i, p in payouts.items()}
    with store.session() as s:
        assert reconcile(s, PERIOD, pulled) == []

    for bill in pulled:
        erp.pay(bill.bill_id)
    assert erp_payouts.payments(store, settings, connector, NOW) == 2
    with store.session() as s:
        assert {p.status for p in s.scalars(select(PayoutRow))} == {"paid"}
        assert set(s.scalars(select(AccrualRow.status).where(AccrualRow.payout_id.is_not(None)))) == {"paid"}
        p1 = s.get(PartnerRow, "p1")
        assert p1 is not None and p1.paid_ytd == payouts[next(i for i, p in payouts.items()
                                                              if p.partner_id == "p1")].amount
        rollup = s.scalars(select(OutboxRow).where(OutboxRow.entity == "partner").order_by(OutboxRow.id.desc()))
        last = rollup.first()
        assert last is not None and last.system == "salesforce" and last.payload["paid_ytd"]["amount"] == str(
            p1.paid_ytd)
        assert reconcile(s, PERIOD, erp_payouts.bills(settings, connector)) == []


def test_a_bill_the_erp_refuses_is_quarantined_and_nothing_else_stops(store: Store, erp: Erp) -> None:
    settings = erp.settings()
    connector = erp_connector(settings.erp)
    seed(store, erp, connector)
    erp.sandbox.close_period("2026-11")
    incentives.accrue(store, settings, NOW)
    with store.session() as s:
        approve(s, settings.program, by="ann", now=NOW)
        build(s, settings, PERIOD, NOW)
    report = erp_payouts.send(store, settings, connector)
    assert report.sent == [] and len(report.failed) == 2
    assert all(m.startswith("payout ") and ("closed" in m or "lock date" in m) for m in report.failed)
    assert [b for b in erp.bills() if b.get("state", "posted") != "draft"] == []  # Odoo keeps the draft
    with store.session() as s:
        errors = list(s.scalars(select(SyncErrorRow).where(SyncErrorRow.entity == "payout")))
        assert len(errors) == 2 and all(e.raw_payload["lines"] for e in errors)
        assert {p.status for p in s.scalars(select(PayoutRow))} == {"approved"}
        assert [d.kind for d in reconcile(s, PERIOD, [])] == ["missing_bill", "missing_bill"]


@pytest.mark.parametrize("erp", ["odoo"], indirect=True)
def test_cli_sends_payouts_reads_payments_and_reconciles_against_the_erp(workdir: Path, erp: Erp) -> None:
    import json
    import os

    from tests.integration.test_cli import run

    settings = erp.settings()
    env = {**os.environ, "PARTNERSYNC_DATABASE_URL": f"sqlite:///{workdir / 'hub.db'}",
           "PARTNERSYNC_PROGRAM": program().model_dump_json()}
    for key, value in settings.erp.model_dump(mode="json", exclude_none=True).items():
        env[f"PARTNERSYNC_ERP__{key.upper()}"] = json.dumps(value) if isinstance(value, dict) else str(value)
    secrets = {"netsuite": {"consumer_key": "ck", "consumer_secret": "cs", "token_id": "tk", "token_secret": "ts"},
               "odoo": {"api_key": "odoo-key"}}[erp.kind]
    sub = json.loads(env[f"PARTNERSYNC_ERP__{erp.kind.upper()}"])
    env[f"PARTNERSYNC_ERP__{erp.kind.upper()}"] = json.dumps({**sub, **secrets})
    assert run("db", "upgrade", cwd=workdir, env=env).returncode == 0
    store = Store(env["PARTNERSYNC_DATABASE_URL"])
    seed(store, erp, erp_connector(settings.erp))
    store.dispose()
    for args in (["incentives", "accrue"], ["incentives", "approve", "--all", "--by", "ann"],
                 ["incentives", "payouts", "--period", PERIOD]):
        result = run(*args, cwd=workdir, env=env)
        assert result.returncode == 0, (args, result.stderr)
    sent = run("incentives", "send", cwd=workdir, env=env)
    assert sent.returncode == 0 and f"2 payouts sent to {erp.kind}" in sent.stdout, sent.stderr
    clean = run("reconcile", "--period", PERIOD, "--format", "json", cwd=workdir, env=env)
    assert clean.returncode == 0 and json.loads(clean.stdout) == {"period": PERIOD, "clean": True,
                                                                  "differences": []}, clean.stderr
    first = erp.bills()[0]
    erp.pay(str(first["id"]))
    behind = run("reconcile", "--period", PERIOD, cwd=workdir, env=env)
    assert behind.returncode == 1 and "status" in behind.stdout
    paid = run("incentives", "payments", cwd=workdir, env=env)
    assert paid.returncode == 0 and "1 payouts changed status" in paid.stdout
    assert run("reconcile", "--period", PERIOD, "--format", "csv", cwd=workdir, env=env).returncode == 0
