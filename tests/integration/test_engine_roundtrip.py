"""Two-way sync Salesforce <-> hub <-> HubSpot through both sandboxes over real HTTP."""

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from config import Settings
from mapping.normalize import utc
from sandbox.hubspot import HubSpotSandbox
from sandbox.salesforce import SalesforceSandbox
from sync.engine import Engine
from sync.rollups import roll_up
from sync.store import Store
from sync.store.tables import ChangeLogRow, PartnerRow, PayoutRow
from tests.integration.test_hubspot import CUSTOM


@pytest.fixture
def crms() -> Iterator[tuple[SalesforceSandbox, HubSpotSandbox]]:
    with SalesforceSandbox() as sf, HubSpotSandbox(window_limit=100_000, search_per_second=100_000) as hs:
        for kind in ("companies", "deals"):
            hs.define_properties(kind, *CUSTOM, unique="partnersync_id")
        yield sf, hs


def settings(sf: SalesforceSandbox, hs: HubSpotSandbox, **program: Any) -> Settings:
    return Settings.model_validate({
        "salesforce": {"instance_url": sf.url, "access_token": sf.access_token, "verify_tls": sf.ca_file,
                       "retry_attempts": 2},
        "hubspot": {"base_url": hs.url, "access_token": hs.access_token},
        "erp": {"enabled": False}, "sync": {"lookback_seconds": 5}, "program": program})


def company(hs: HubSpotSandbox, name: str) -> dict[str, Any]:
    return next(c for c in hs.live("companies") if c["properties"]["name"] == name)


def test_round_trip_rules_conflicts_and_fixed_point(
        store: Store, crms: tuple[SalesforceSandbox, HubSpotSandbox]) -> None:
    sf, hs = crms
    accounts = sf.seed_accounts(3, Phone=None)
    [acme] = sf.seed_accounts(1, Name="Acme", Phone=None, BillingCity="Berlin", BillingCountry="DE")
    sf.seed_opportunities(6, [*accounts, acme])
    config = settings(sf, hs, field_rules={"partner": {"city": "prefer:salesforce", "tier": "from:salesforce"}})
    Engine(store, config).cycle()
    assert len(hs.live("companies")) == 4 and len(hs.live("deals")) == 6
    assert len(hs.associations) == 6  # every deal associated to its partner company
    hs_acme = company(hs, "Acme")
    assert hs_acme["properties"]["partnersync_id"] == sf.get("Account", acme)["PartnerSync_Id__c"]

    # one-side edits flow across; prefer:salesforce keeps Salesforce's city; from:salesforce ignores HubSpot's tier
    hs.update("companies", hs_acme["id"], {"name": "Acme Europe", "city": "Munich", "partnersync_tier": "Gold"})
    Engine(store, config).cycle()
    account = sf.get("Account", acme)
    assert account["Name"] == "Acme Europe" and account["BillingCity"] == "Berlin"
    assert account["PartnerSync_Tier__c"] != "Gold"

    # the same field changed on both sides: the newer change wins (each side's own modified time)
    sf.update("Account", acme, Name="Acme SF")
    hs.update("companies", hs_acme["id"], {"name": "Acme HS"}, modified_ms=hs.now_ms() + 60_000)
    Engine(store, config).cycle()
    assert sf.get("Account", acme)["Name"] == "Acme HS" and company(hs, "Acme HS")
    with store.session() as s:
        partner = s.scalars(select(PartnerRow).where(PartnerRow.name == "Acme HS")).one()
        rules = [c.rule for c in s.scalars(select(ChangeLogRow).where(ChangeLogRow.hub_id == partner.id))]
        assert any(r and "conflict" in r for r in rules)

    # fixed point: nothing more to write anywhere
    sf.faults.reset_calls()
    hs.faults.reset_calls()
    reports = Engine(store, config).cycle()
    assert sum(r.records_out for r in reports) == 0
    assert sf.faults.count(r"composite/sobjects", "PATCH") == 0
    assert hs.faults.count(r"/batch/(upsert|update|archive|associate)") == 0


def test_a_quiet_run_makes_one_call_per_stream(store: Store, crms: tuple[SalesforceSandbox, HubSpotSandbox]) -> None:
    sf, hs = crms
    sf.seed_opportunities(4, sf.seed_accounts(3))
    config = settings(sf, hs)
    config = config.model_copy(update={"sync": config.sync.model_copy(update={"lookback_seconds": 1})})
    engine = Engine(store, config)
    engine.cycle()
    time.sleep(2.1)  # the next read begins over the lookback after the last write, on the sandboxes' clocks
    echoes = engine.cycle()
    assert sum(r.records_out for r in echoes) == 0
    quiet = engine.cycle()
    assert {f"{r.system}/{r.entity}": r.api_calls for r in quiet} == {
        "salesforce/partner": 1, "hubspot/partner": 1, "salesforce/deal": 1, "hubspot/deal": 1}
    assert all(r.records_in == 0 for r in quiet)

    # the cursor did not skip anything: a change made now is pulled and pushed across
    target = hs.live("companies")[0]
    hs.update("companies", target["id"], {"city": "Lisbon"})
    engine.cycle()
    [account] = [a for a in sf.records("Account") if a["PartnerSync_Id__c"] == target["properties"]["partnersync_id"]]
    assert account["BillingCity"] == "Lisbon"


def test_a_partner_created_from_hubspot_stays_in_the_salesforce_pull(
        store: Store, crms: tuple[SalesforceSandbox, HubSpotSandbox]) -> None:
    """The Account we create is not IsPartner (only enabling a partner sets that), yet its edits come back."""
    sf, hs = crms
    hs.create("companies", {"name": "Northwind Traders", "domain": "northwind.example", "country": "US"})
    config = settings(sf, hs)
    Engine(store, config).cycle()
    [account] = [a for a in sf.org.table("Account").values() if a["Name"] == "Northwind Traders"]
    assert not account.get("IsPartner")

    sf.update("Account", account["Id"], Name="Northwind Traders Inc")
    Engine(store, config).cycle()
    assert company(hs, "Northwind Traders Inc")


def test_what_a_partner_was_paid_shows_on_its_record_in_both_crms(
        store: Store, crms: tuple[SalesforceSandbox, HubSpotSandbox]) -> None:
    sf, hs = crms
    [account] = sf.seed_accounts(1, Name="Payable Partners", Phone=None)
    config = settings(sf, hs)
    Engine(store, config).cycle()
    paid_at = datetime.now(UTC).replace(microsecond=0)
    with store.session() as s:
        partner = s.scalars(select(PartnerRow).where(PartnerRow.name == "Payable Partners")).one()
        s.add(PayoutRow(partner_id=partner.id, period=f"{paid_at.year}-01", amount=Decimal("1234.50"),
                        currency="USD", status="paid", paid_amount=Decimal("1234.50"), paid_at=paid_at))
        s.flush()
        assert roll_up(s, config.program, [partner.id], paid_at) == 1  # the payments step does this
    Engine(store, config).cycle()

    record = sf.get("Account", account)
    assert Decimal(str(record["PartnerSync_Paid_YTD__c"])) == Decimal("1234.50")
    assert utc(record["PartnerSync_Last_Payout__c"]) == paid_at
    properties = company(hs, "Payable Partners")["properties"]
    assert Decimal(properties["partnersync_paid_ytd"]) == Decimal("1234.50")
    assert utc(properties["partnersync_last_payout_at"]) == paid_at

    reports = Engine(store, config).cycle()  # write-only figures are never read back: still a fixed point
    assert sum(r.records_out for r in reports) == 0


def test_a_big_pull_refreshes_postgresql_planner_statistics(
        pg_store: Store, crms: tuple[SalesforceSandbox, HubSpotSandbox]) -> None:
    sf, hs = crms
    sf.seed_accounts(5)
    config = settings(sf, hs)
    config = config.model_copy(update={"sync": config.sync.model_copy(update={"analyze_every_records": 3})})
    with pg_store.engine.connect() as conn:
        before = conn.exec_driver_sql("SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'external_links'"
                                      ).scalar_one()
    Engine(pg_store, config).pull("salesforce", "partner")
    with pg_store.engine.connect() as conn:  # the statistics collector reports asynchronously: wait for it
        for _ in range(50):
            conn.exec_driver_sql("SELECT pg_stat_clear_snapshot()")
            after = conn.exec_driver_sql("SELECT analyze_count FROM pg_stat_user_tables "
                                         "WHERE relname = 'external_links'").scalar_one()
            if after > before:
                break
            time.sleep(0.1)
    assert after > before
