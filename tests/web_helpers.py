"""A hub seeded the way production fills it, for the web tests: a sync cycle over two memory CRMs (a bad
record in quarantine, a duplicate pair for review), registrations that conflict (through the conflict
rule) and a payout for the period."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from config import Settings
from sync import conflicts
from sync.context import RuleContext
from sync.engine import Engine
from sync.store import Store
from sync.store.tables import DealProductRow, DealRow, DuplicateCandidateRow, PayoutRow
from tests.engine_helpers import engine_for
from tests.memsystem import MemorySystem

CARD_SECRET = "card-secret-for-tests"
HUBSPOT_SECRET = "hubspot-app-secret"
CONSUMER_SECRET, TOKEN_SECRET = "consumer-secret-xyz", "token-secret-xyz"
PERIOD = "2026-05"


def web_settings(**web: Any) -> Settings:
    return Settings.model_validate({
        "hubspot": {"client_secret": HUBSPOT_SECRET},
        "web": {"card_secret": CARD_SECRET, **web},
        "erp": {"base_url": "http://127.0.0.1:9/services/rest", "retries": 1, "timeout": 2,
                "netsuite": {"account_id": "1234567_SB1", "consumer_key": "ck", "consumer_secret": CONSUMER_SECRET,
                             "token_id": "tk", "token_secret": TOKEN_SECRET}},
        "program": {"registration": {"policy": "manual"}}})


@dataclass
class Hub:
    store: Store
    engine: Engine
    sf: MemorySystem
    hs: MemorySystem
    acme_sf: str
    acme_hub: str
    bad_phone: str


def seed(store: Store, config: Settings) -> Hub:
    """The hub as the module docstring says; returns it with the engine and its memory systems."""
    sf, hs = MemorySystem("salesforce"), MemorySystem("hubspot")
    acme = sf.add("partner", Name="Acme GmbH", Web="acme.de", Country="DE")
    bad = sf.add("partner", Name="Bad phone", Phone="not a phone")
    sf.add("partner", Name="Initech LLC", Country="US")
    hs.add("partner", Name="Initech Inc", Country="US")
    sf.add("deal", Name="Acme firewall", Partner=acme, Stage="open", Amount="1200.50 EUR")
    engine = engine_for(store, sf, hs, settings=config)
    engine.cycle()
    acme_hub = sf.data["partner"][acme]["HubId"]
    now = datetime.now(UTC)
    with store.session() as s:
        other = s.scalars(select(DuplicateCandidateRow.partner_a)).one()
        for deal_id, partner, ago in (("web-d1", acme_hub, 5), ("web-d2", other, 1)):
            s.add(DealRow(id=deal_id, partner_id=partner, name=f"Contoso rollout {deal_id}", customer_name="Contoso",
                          customer_domain="contoso.com", customer_country="GB", registration_status="approved",
                          registered_at=now - timedelta(days=ago)))
            s.flush()
            s.add(DealProductRow(deal_id=deal_id, product="fw", family="firewall"))
        conflicts.on_deals_changed(RuleContext(session=s, settings=config), ["web-d1", "web-d2"])
        s.add(PayoutRow(id="web-payout", partner_id=acme_hub, period=PERIOD, amount=Decimal("1234.50"),
                        currency="USD", status="approved"))
    return Hub(store, engine, sf, hs, acme, acme_hub, bad)


