"""The demo's app over real HTTP: a signed HubSpot webhook pulls the change in on a thread, on to Salesforce."""

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from sandbox.demo import Demo
from sandbox.server import SandboxServer
from sync.store.tables import PartnerRow
from web.app import create_app
from web.webhooks import signature


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    run = Demo(tmp_path / "demo.db", records=60)
    try:
        run.start()
        run.seed()
        run.run()
        yield run
    finally:
        run.stop()


def test_webhook_pulls_a_new_hubspot_company_into_the_hub_and_salesforce(demo: Demo) -> None:
    assert demo.settings is not None and demo.store is not None and demo.pulls is not None
    secret = demo.settings.hubspot.client_secret
    assert secret is not None
    company = demo.hubspot.create("companies", {"name": "Webhook Widgets GmbH", "domain": "webhook-widgets.de",
                                                "country": "Germany", "phone": "+49 89 1234567"})
    body = json.dumps([{"eventId": 901, "subscriptionId": 7, "portalId": 62515, "occurredAt": 1,
                        "subscriptionType": "company.creation", "attemptNumber": 0,
                        "objectId": int(company["id"])}]).encode()
    app = create_app(demo.settings, demo.store, on_hubspot_events=demo.pulls, systems=demo.pulls.engine.systems)
    with SandboxServer(app) as server:
        uri, stamp = f"{server.url}/webhooks/hubspot", str(int(time.time() * 1000))
        headers = {"X-HubSpot-Signature-v3": signature(secret.get_secret_value(), "POST", uri, body, stamp),
                   "X-HubSpot-Request-Timestamp": stamp, "Content-Type": "application/json"}
        answer = httpx.post(uri, content=body, headers=headers)
        assert answer.status_code == 200 and answer.json()["pulls"] == 1
        assert httpx.post(uri, content=body, headers=headers).json()["pulls"] == 0  # a replay changes nothing
    demo.pulls.join()
    with demo.store.session() as session:
        partner = session.scalars(select(PartnerRow).where(PartnerRow.name == "Webhook Widgets GmbH")).one()
        assert partner.website == "webhook-widgets.de" and partner.country == "DE"
    accounts = [a for a in demo.salesforce.records("Account") if a["Name"] == "Webhook Widgets GmbH"]
    assert len(accounts) == 1 and accounts[0]["PartnerSync_Id__c"] == partner.id


def test_a_change_in_the_hubspot_sandbox_arrives_as_a_webhook_and_flows_to_salesforce(demo: Demo) -> None:
    assert demo.settings is not None and demo.store is not None and demo.pulls is not None
    app = create_app(demo.settings, demo.store, on_hubspot_events=demo.pulls, systems=demo.pulls.engine.systems)
    company = next(c for c in demo.hubspot.live("companies") if c["properties"]["name"] == "Umbrella Systems")
    with SandboxServer(app) as server:
        demo.deliver_webhooks(f"{server.url}/webhooks/hubspot")
        demo.hubspot.update("companies", company["id"], {"name": "Umbrella Systems Europe"})  # a rep's edit
        assert demo.webhooks is not None
        for _ in range(3):  # the pull writes back to HubSpot, which is a change too: settles within a few rounds
            demo.webhooks.join()
            demo.pulls.join()
    accounts = [a for a in demo.salesforce.records("Account") if a["Name"] == "Umbrella Systems Europe"]
    assert len(accounts) == 1
    with demo.store.session() as session:
        names = set(session.scalars(select(PartnerRow.name).where(PartnerRow.name.like("Umbrella Systems%"))))
    assert names == {"Umbrella Systems Europe"}


def test_a_company_archived_in_hubspot_is_taken_from_its_deletion_webhook(demo: Demo) -> None:
    assert demo.settings is not None and demo.store is not None and demo.pulls is not None
    assert demo.settings.hubspot.archived_every_seconds > 0  # the pull would not list archived records yet
    app = create_app(demo.settings, demo.store, on_hubspot_events=demo.pulls, systems=demo.pulls.engine.systems)
    company = next(c for c in demo.hubspot.live("companies") if c["properties"]["name"] == "Umbrella Systems")
    hub_id = company["properties"]["partnersync_id"]
    with SandboxServer(app) as server:
        demo.deliver_webhooks(f"{server.url}/webhooks/hubspot")
        demo.hubspot.archive("companies", company["id"])
        assert demo.webhooks is not None
        demo.webhooks.join()
        demo.pulls.join()
    with demo.store.session() as session:
        partner = session.get(PartnerRow, hub_id)
        assert partner is not None and partner.status == "archived" and partner.deleted_at is not None
    accounts = [a for a in demo.salesforce.records("Account", include_deleted=True)
                if a.get("PartnerSync_Id__c") == hub_id]
    assert accounts and all(a["IsDeleted"] for a in accounts)  # archived there too (the recycle bin)
