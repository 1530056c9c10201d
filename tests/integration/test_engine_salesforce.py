"""The sync engine end to end through real sandboxes: Salesforce <-> hub <-> NetSuite."""

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from config import Settings
from sandbox.netsuite import NetSuiteSandbox
from sandbox.salesforce import SalesforceSandbox
from sandbox.server import SandboxServer
from sync.engine import Engine
from sync.store import Store
from sync.store.tables import ChangeLogRow, DealRow, ExternalLinkRow, OutboxRow, PartnerRow, SyncErrorRow, SyncRunRow


@pytest.fixture
def systems() -> Iterator[tuple[SalesforceSandbox, NetSuiteSandbox, str]]:
    ns = NetSuiteSandbox()
    with SalesforceSandbox() as sf, SandboxServer(ns.app) as server:
        yield sf, ns, server.url


def make_settings(sf: SalesforceSandbox, ns_url: str, **program: Any) -> Settings:
    return Settings.model_validate({
        "salesforce": {"instance_url": sf.url, "access_token": sf.access_token, "login_url": sf.url,
                       "verify_tls": sf.ca_file, "query_page_size": 200, "retry_attempts": 2},
        "hubspot": {"enabled": False},
        "erp": {"kind": "netsuite", "base_url": f"{ns_url}/services/rest",
                "netsuite": {"account_id": "1234567_SB1", "consumer_key": "ck", "consumer_secret": "cs",
                             "token_id": "tk", "token_secret": "ts"}},
        "program": program,
    })


def count(store: Store, row: Any, *where: Any) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(row).where(*where)) or 0)


def ns_writes(ns: NetSuiteSandbox) -> int:
    return sum(1 for c in ns.faults.calls if c.method in ("PUT", "POST", "PATCH") and "suiteql" not in c.path)


def test_first_sync_links_everything_and_second_sync_writes_nothing(
        store: Store, systems: tuple[SalesforceSandbox, NetSuiteSandbox, str]) -> None:
    sf, ns, url = systems
    partners = sf.seed_accounts(30, Phone=None)
    sf.seed_opportunities(60, partners)
    engine = Engine(store, make_settings(sf, url))
    reports = engine.cycle()
    assert {(r.system, r.entity) for r in reports} >= {("salesforce", "partner"), ("salesforce", "deal")}
    assert count(store, PartnerRow) == 30 and count(store, DealRow) == 60
    assert count(store, ExternalLinkRow, ExternalLinkRow.system == "salesforce") == 90
    assert count(store, ExternalLinkRow, ExternalLinkRow.system == "netsuite") == 30
    assert count(store, OutboxRow, OutboxRow.status == "pending") == 0
    # our stable id is stamped on every Salesforce record
    assert all(r["PartnerSync_Id__c"] for r in sf.records("Account"))
    assert all(r["PartnerSync_Id__c"] for r in sf.records("Opportunity"))
    assert len(ns.vendors) == 30
    # fixed point: the next cycle pulls our own echoes and writes nothing anywhere
    sf.faults.reset_calls()
    ns.faults.reset_calls()
    engine = Engine(store, make_settings(sf, url))
    again = engine.cycle()
    assert sum(r.records_out for r in again) == 0
    assert sf.faults.count(r"composite/sobjects", "PATCH") == 0
    assert ns_writes(ns) == 0
    engine.cycle()
    assert count(store, SyncRunRow, SyncRunRow.status == "success") >= 6


def test_field_rules_and_lineage(store: Store, systems: tuple[SalesforceSandbox, NetSuiteSandbox, str]) -> None:
    sf, _ns, url = systems
    [account] = sf.seed_accounts(1, Name="Initech", Phone="+1 415 555 0100")
    settings = make_settings(sf, url, field_rules={"partner": {"phone": "none", "tier": "from:hub"}})
    Engine(store, settings).cycle()
    sf.update("Account", account, Name="Initech Global", Phone="+1 415 555 0199", PartnerSync_Tier__c="Gold")
    Engine(store, settings).cycle()
    with store.session() as s:
        partner = s.scalars(select(PartnerRow)).one()
        assert partner.name == "Initech Global"
        assert partner.phone is None  # rule none: never synced
        assert partner.tier != "Gold"  # from:hub: a CRM edit never wins
        history = s.scalars(select(ChangeLogRow).where(ChangeLogRow.hub_id == partner.id,
                                                       ChangeLogRow.field == "name")).all()
        assert [h.new_value for h in history] == ["Initech", "Initech Global"]
        assert {h.source_system for h in history} == {"salesforce"}


def test_bad_records_are_quarantined_and_the_rest_land(
        store: Store, systems: tuple[SalesforceSandbox, NetSuiteSandbox, str]) -> None:
    sf, _ns, url = systems
    sf.seed_accounts(5, Phone=None)
    sf.seed_accounts(1, Name="Bad Phone Ltd", Phone="call me maybe")
    Engine(store, make_settings(sf, url)).cycle()
    assert count(store, PartnerRow) == 5
    with store.session() as s:
        error = s.scalars(select(SyncErrorRow)).one()
        assert error.category == "validation" and error.field == "Phone"
        assert "Bad Phone Ltd" in str(error.raw_payload) and "Phone" in error.message


def test_delete_in_salesforce_archives_in_hub_and_erp(
        store: Store, systems: tuple[SalesforceSandbox, NetSuiteSandbox, str]) -> None:
    sf, ns, url = systems
    [_keep, gone] = sf.seed_accounts(2, Phone=None)
    settings = make_settings(sf, url, delete_policy={"partner": "archive"})
    Engine(store, settings).cycle()
    sf.delete(gone)
    Engine(store, settings).cycle()
    with store.session() as s:
        statuses = dict(s.execute(select(PartnerRow.name, PartnerRow.status)).all())
        assert sorted(statuses.values()) == ["active", "archived"]
        links = s.scalars(select(ExternalLinkRow).where(ExternalLinkRow.archived.is_(True))).all()
        assert {link.system for link in links} == {"salesforce", "netsuite"}
    assert sum(1 for v in ns.vendors.values() if v.get("isInactive")) == 1
