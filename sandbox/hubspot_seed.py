"""Realistic partner companies and their deals (Faker), written straight into the HubSpot sandbox.

Values are what a HubSpot portal holds: bare domains, country names, internal deal stage ids, amounts
and dates as text, and each deal associated to its partner company (v4 default association).
"""

import random
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal

import pycountry
from faker import Faker

from sandbox.hubspot import HubSpotSandbox, iso
from sandbox.salesforce_seed import PRODUCTS, STATUSES, TIERS, customer_domain, phone

OPEN_STAGES = ["appointmentscheduled", "qualifiedtobuy", "presentationscheduled", "decisionmakerboughtin",
               "contractsent"]
CLOSED_STAGES = ["closedwon", "closedlost"]


class Seeder:
    def __init__(self, sandbox: HubSpotSandbox, seed: int = 11) -> None:
        self.sandbox = sandbox
        self.fake = Faker(["en_US", "en_GB", "de_DE", "nl_NL"])
        self.fake.seed_instance(seed)
        self.random = random.Random(seed)

    def companies(self, count: int, **properties: str) -> list[str]:
        ids = []
        for _ in range(count):
            fake = self.fake[self.random.choice(self.fake.locales)]
            code = fake.current_country_code()
            country = pycountry.countries.get(alpha_2=code)
            name = fake.company()
            values = {"name": name, "domain": customer_domain(name), "phone": phone(fake, code),
                      "address": fake.street_address(), "city": fake.city(), "zip": fake.postcode(),
                      "country": country.name if country else code, "partnersync_tier": self.random.choice(TIERS),
                      **properties}
            ids.append(self.sandbox.create("companies", values)["id"])
        return ids

    def deals(self, count: int, company_ids: list[str], properties: Mapping[str, str] | None = None, *,
              created_ms: int | None = None) -> list[str]:
        """Deals of random companies among `company_ids`; `properties` override the made-up values."""
        ids = []
        now = self.sandbox.now_ms()
        for _ in range(count):
            rnd, customer = self.random, self.fake.company()
            closed = rnd.random() < 0.4
            days = rnd.randrange(-150, -1) if closed else rnd.randrange(1, 180)
            values = {"dealname": f"{customer} - {rnd.choice(PRODUCTS)} renewal", "pipeline": "default",
                      "amount": str(Decimal(rnd.randrange(5_000_00, 400_000_00)) / 100),
                      "deal_currency_code": rnd.choice(["USD", "EUR", "GBP"]),
                      "dealstage": rnd.choice(CLOSED_STAGES if closed else OPEN_STAGES),
                      "closedate": iso(now + int(timedelta(days=days).total_seconds() * 1000)),
                      "partnersync_products": ";".join(sorted(rnd.sample(PRODUCTS, rnd.randrange(1, 3)))),
                      "partnersync_customer_name": customer, "partnersync_customer_domain": customer_domain(customer),
                      "partnersync_customer_country": self.fake.current_country_code(),
                      "partnersync_registration_status": rnd.choice(STATUSES), **(properties or {})}
            deal = self.sandbox.create("deals", values, modified_ms=created_ms)["id"]
            self.sandbox.associate(deal, rnd.choice(company_ids))
            ids.append(deal)
        return ids
