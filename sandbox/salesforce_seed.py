"""Realistic partner Accounts and Opportunities (Faker), written straight into the sandbox's org.

Seeded records skip HTTP and validation of pushed values, so tens of thousands take seconds; they
still get Ids, SystemModstamp and the rest of the system fields like any other insert.
"""

import random
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import phonenumbers
from faker import Faker

from sandbox.salesforce_org import Org

STAGES = ["Prospecting", "Qualification", "Proposal/Price Quote", "Negotiation/Review", "Closed Won", "Closed Lost"]
PRODUCTS = ["software", "services", "support", "hardware", "training"]
TIERS = ["Registered", "Silver", "Gold", "Platinum"]
STATUSES = ["submitted", "approved", "rejected"]


def phone(fake: Faker, country: str) -> str:
    """A number as the locale writes it that still parses: Faker also makes `001-...x123`, which would put
    random partners in quarantine and leave only the planted bad records unexplained."""
    for _ in range(20):
        text = fake.phone_number()
        try:
            if phonenumbers.is_possible_number(phonenumbers.parse(text, country)):
                return text
        except phonenumbers.NumberParseException:
            continue
    return fake.numerify("+1 415 555 ####")


def customer_domain(customer: str) -> str:
    """A domain made from the customer's name, so two customers share one only when their names match."""
    return re.sub(r"[^a-z0-9]+", "", customer.lower())[:30] + ".com"


class Seeder:
    def __init__(self, org: Org, seed: int) -> None:
        self.org = org
        self.fake = Faker(["en_US", "de_DE", "fr_FR", "en_GB"])
        self.fake.seed_instance(seed)
        self.random = random.Random(seed)

    def accounts(self, count: int, **fields: Any) -> list[str]:
        ids: list[str] = []
        with self.org.lock:
            for _ in range(count):
                fake = self.fake[self.random.choice(self.fake.locales)]
                country = fake.current_country_code()
                values = {"Name": fake.company(), "Website": f"https://www.{fake.domain_name()}",
                          "Phone": phone(fake, country), "BillingStreet": fake.street_address(),
                          "BillingCity": fake.city(), "BillingPostalCode": fake.postcode(),
                          "BillingCountry": country, "IsPartner": True,
                          "PartnerSync_Tier__c": self.random.choice(TIERS), **fields}
                ids.append(self.org.insert("Account", values)["Id"])
        return ids

    def opportunities(self, count: int, partner_ids: list[str] | None = None, **fields: Any) -> list[str]:
        partners = partner_ids or self.accounts(max(1, count // 10))
        ids: list[str] = []
        with self.org.lock:
            for _ in range(count):
                fake, rnd = self.fake, self.random
                customer = fake.company()
                values = {"Name": f"{customer} - {rnd.choice(PRODUCTS).title()} deal",
                          "PartnerAccountId": rnd.choice(partners),
                          "Amount": float(Decimal(rnd.randrange(1_000_00, 500_000_00)) / 100),
                          "CurrencyIsoCode": rnd.choice(["USD", "EUR", "GBP"]),
                          "StageName": (stage := rnd.choice(STAGES)),
                          "CloseDate": (self.org.clock() + timedelta(days=rnd.randrange(-150, -1) if "Closed" in stage
                                                                   else rnd.randrange(1, 180))).date(),
                          "PartnerSync_Products__c": ";".join(sorted(rnd.sample(PRODUCTS, rnd.randrange(1, 3)))),
                          "PartnerSync_Customer_Name__c": customer,
                          "PartnerSync_Customer_Domain__c": customer_domain(customer),
                          "PartnerSync_Customer_Country__c": fake.current_country_code(),
                          "PartnerSync_Registration_Status__c": rnd.choice(STATUSES), **fields}
                ids.append(self.org.insert("Opportunity", values)["Id"])
        return ids
