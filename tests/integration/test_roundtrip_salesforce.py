"""Salesforce sandbox <-> hub <-> a second CRM (the memory test double until the HubSpot connector
lands): every rule kind, conflicting edits, and the fixed point, through the real Salesforce API."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from config import Settings
from connectors.salesforce import SalesforceConnector
from mapping import salesforce
from sandbox.salesforce import SalesforceSandbox
from sync.engine import Engine
from sync.store import Store
from sync.systems import System
from tests.memsystem import MemorySystem, maps


class LiveClock(MemorySystem):
    """The second CRM stamps its changes with the wall clock, as Salesforce's sandbox does."""

    def tick(self) -> datetime:
        return datetime.now(UTC)


@pytest.fixture
def sf() -> Iterator[SalesforceSandbox]:
    with SalesforceSandbox() as sandbox:
        yield sandbox


def engine(store: Store, sb: SalesforceSandbox, other: MemorySystem, rules: dict[str, str]) -> Engine:
    settings = Settings.model_validate({
        "salesforce": {"instance_url": sb.url, "access_token": sb.access_token, "login_url": sb.url,
                       "verify_tls": sb.ca_file, "query_page_size": 200, "retry_attempts": 2},
        "hubspot": {"enabled": False}, "erp": {"enabled": False},
        "program": {"field_rules": {"partner": rules}}})
    return Engine(store, settings, {
        "salesforce": System("salesforce", SalesforceConnector(settings.salesforce),
                             {"partner": salesforce.partner_map(settings.salesforce)}),
        "hubspot": System("hubspot", other, {"partner": maps("hubspot")["partner"]})})


def test_each_rule_kind_and_conflicting_edits_round_trip(store: Store, sf: SalesforceSandbox) -> None:
    rules = {"country": "prefer:salesforce", "tier": "from:hubspot", "phone": "none"}
    [account] = sf.seed_accounts(1, Name="Acme GmbH", Website="acme.de", BillingCountry="DE",
                                 Phone="+49 30 123456")
    hs = LiveClock("hubspot")
    eng = engine(store, sf, hs, rules)
    eng.cycle()
    [(hub_id, record)] = hs.by_hub_id("partner").items()
    assert sf.get("Account", account)["PartnerSync_Id__c"] == hub_id  # written back by Salesforce Id
    assert record["Name"] == "Acme GmbH" and "Phone" not in record

    sf.update("Account", account, Name="Acme SF", BillingCountry="AT", PartnerSync_Tier__c="silver",
              Website="acme.at")
    hs.edit("partner", record["Id"], Name="Acme HS", Country="CH", Tier="platinum")  # edited after Salesforce
    eng.cycle()
    eng.cycle()

    got: dict[str, Any] = sf.get("Account", account)
    assert (got["Name"], got["BillingCountry"], got["PartnerSync_Tier__c"], got["Website"]) == (
        "Acme HS", "AT", "platinum", "acme.at")
    assert (record["Name"], record["Country"], record["Tier"], record["Web"]) == (
        "Acme HS", "AT", "platinum", "acme.at")
    assert got["Phone"] == "+49 30 123456"

    writes = hs.writes
    calls = eng.systems["salesforce"].connector.usage.calls
    reports = eng.cycle()
    assert hs.writes == writes and all(r.records_out == 0 for r in reports)
    assert eng.systems["salesforce"].connector.usage.calls - calls == 1  # one query, no write
