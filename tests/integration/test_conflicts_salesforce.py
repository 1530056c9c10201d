"""A registration conflict found on the hub reaches the Salesforce sandbox through the outbox and the engine."""

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from sandbox.netsuite import NetSuiteSandbox
from sandbox.salesforce import SalesforceSandbox
from sandbox.server import SandboxServer
from sync import conflicts
from sync.context import RuleContext
from sync.engine import Engine
from sync.store import Store
from sync.store.tables import DealRow, RegistrationConflictRow
from tests.integration.test_engine_salesforce import make_settings


@pytest.fixture
def systems() -> Iterator[tuple[SalesforceSandbox, str]]:
    ns = NetSuiteSandbox()
    with SalesforceSandbox() as sf, SandboxServer(ns.app) as server:
        yield sf, server.url


def test_conflict_write_back_reaches_salesforce(store: Store, systems: tuple[SalesforceSandbox, str]) -> None:
    sf, ns_url = systems
    alpha, beta = sf.seed_accounts(2, Phone=None)
    same = {"PartnerSync_Customer_Name__c": "Contoso Ltd", "PartnerSync_Customer_Domain__c": "contoso.com",
            "PartnerSync_Customer_Country__c": "GB", "PartnerSync_Products__c": "firewall",
            "PartnerSync_Registration_Status__c": "Submitted", "StageName": "Prospecting"}
    first = sf.seed_opportunities(1, [alpha], **same)[0]
    second = sf.seed_opportunities(1, [beta], **same)[0]
    settings = make_settings(sf, ns_url)
    Engine(store, settings).cycle()
    with store.session() as s:
        hub_ids = list(s.scalars(select(DealRow.id).order_by(DealRow.registered_at, DealRow.id)))
        assert len(hub_ids) == 2
        conflicts.on_deals_changed(RuleContext(session=s, settings=settings), hub_ids)
    with store.session() as s:
        conflict = s.scalars(select(RegistrationConflictRow)).one()
        assert conflict.rule == "customer_overlap" and conflict.evidence["domain"] == "contoso.com"
        loser_hub = conflict.deal_id
    Engine(store, settings).cycle()
    by_status = {sf.get("Opportunity", oid)["PartnerSync_Registration_Status__c"].lower(): oid
                 for oid in (first, second)}
    assert set(by_status) == {"submitted", "rejected"}
    rejected = sf.get("Opportunity", by_status["rejected"])
    assert rejected["PartnerSync_Conflict_Reason__c"].startswith("customer already registered by another partner")
    assert rejected["PartnerSync_Id__c"] == loser_hub
    winner = sf.get("Opportunity", by_status["submitted"])
    assert winner["PartnerSync_Registration_Expires__c"]  # the protection window reached the rep too
    assert not winner["PartnerSync_Conflict_Reason__c"]
