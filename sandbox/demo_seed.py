"""The demo's data: realistic partners and deals in both CRMs, with the mess real portals hold.

Planted on purpose, so the summary has something to show: a duplicate partner within Salesforce (auto
merge) and a pair for review, the same partner in both CRMs once with the same domain (linked, never
duplicated) and once spelled differently on another domain (merged by dedup), one end customer
registered by three partners across both CRMs (conflicts), a registration waiting past its approval SLA,
and records that fail validation.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sandbox.hubspot import HubSpotSandbox, iso
from sandbox.hubspot_seed import Seeder
from sandbox.salesforce import SalesforceSandbox

INITECH = {"customer_name": "Initech Corporation", "customer_domain": "initech.com", "customer_country": "US",
           "products": "software", "registration_status": "submitted"}


@dataclass
class Seeded:
    """What went where, and what was planted (the summary prints it; tests compare against it)."""

    salesforce: dict[str, int] = field(default_factory=dict)
    hubspot: dict[str, int] = field(default_factory=dict)
    planted: dict[str, int] = field(default_factory=dict)


def seed(sf: SalesforceSandbox, hs: HubSpotSandbox, records: int) -> Seeded:
    """`records` partners + deals, a fifth of them partners, a quarter of everything in HubSpot."""
    partners = max(20, records // 5)
    deals = max(0, records - partners)
    hs_partners, hs_deals = partners // 4, deals // 4
    sf_accounts = _salesforce(sf, partners - hs_partners, deals - hs_deals)
    hs_companies = _hubspot(hs, hs_partners, hs_deals)
    return Seeded(
        salesforce={"accounts": sf_accounts, "opportunities": deals - hs_deals},
        hubspot={"companies": hs_companies, "deals": hs_deals},
        planted={"duplicates within Salesforce": 2, "duplicates across CRMs": 2,
                 "registrations of one customer": 3, "registration past its SLA": 1, "bad records": 6})


def _salesforce(sf: SalesforceSandbox, partners: int, deals: int) -> int:
    planted = [
        *sf.seed_accounts(1, Name="Acme Networks Inc.", Website="https://www.acme-networks.com",
                          BillingCountry="US", Phone="+1 415 555 0100"),
        *sf.seed_accounts(1, Name="ACME Networks, LLC", Website="http://acme-networks.com/partners",
                          BillingCountry="US", Phone="(415) 555-0100"),
        *sf.seed_accounts(2, Name="Globex Solutions GmbH", Website=None, BillingCountry="DE", Phone="+49 30 1234567"),
        *sf.seed_accounts(1, Name="Northwind Traders Limited", Website="https://www.northwindtraders.co.uk",
                          BillingCountry="GB", BillingCity="London", Phone="+44 20 7946 0958"),
    ]
    sf.seed_accounts(2, Phone="call me maybe")  # bad: no phone number
    ids = sf.seed_accounts(partners - len(planted) - 2) + planted
    soon = (datetime.now(UTC) + timedelta(days=30)).date()
    initech = {"PartnerSync_Customer_Name__c": INITECH["customer_name"],
               "PartnerSync_Customer_Domain__c": INITECH["customer_domain"],
               "PartnerSync_Customer_Country__c": INITECH["customer_country"],
               "PartnerSync_Products__c": INITECH["products"],
               "PartnerSync_Registration_Status__c": INITECH["registration_status"],
               "StageName": "Prospecting", "CloseDate": soon}
    sf.seed_opportunities(1, planted[:1], Name="Initech - platform rollout", **initech)
    sf.seed_opportunities(1, planted[2:3], Name="Initech Corp - software refresh", **initech)
    sf.seed_opportunities(1, ids[:1], Name="Bad deal - status",  # bad: not a registration status
                          PartnerSync_Registration_Status__c="pending approval")
    sf.seed_opportunities(max(0, deals - 3), ids)
    return partners


def _hubspot(hs: HubSpotSandbox, partners: int, deals: int) -> int:
    seeder = Seeder(hs)
    planted = [
        *seeder.companies(1, name="Acme Networks", domain="acme-networks.com", country="United States",
                          phone="+1 415 555 0100"),
        *seeder.companies(1, name="Northwind Traders Ltd.", domain="northwind.co.uk", country="United Kingdom",
                          city="London", phone="020 7946 0958"),
        *seeder.companies(1, name="Umbrella Systems", domain="umbrella-systems.com", country="United States"),
    ]
    seeder.companies(1, phone="ask for Bob at reception")  # bad: no phone number
    ids = seeder.companies(partners - len(planted) - 1) + planted
    soon = iso(hs.now_ms() + 30 * 86_400_000)
    seeder.deals(1, planted[2:], {"dealname": "Initech - Umbrella software bundle", "closedate": soon,
                                  "dealstage": "appointmentscheduled",
                                  **{f"partnersync_{k}": v for k, v in INITECH.items()}})
    seeder.deals(1, ids[2:3], {"dealname": "Hooli - support renewal", "closedate": soon, "dealstage": "qualifiedtobuy",
                               "partnersync_customer_name": "Hooli", "partnersync_customer_domain": "hooli.com",
                               "partnersync_customer_country": "US", "partnersync_registration_status": "submitted"},
                 created_ms=hs.now_ms() - 4 * 86_400_000)  # registered 4 days ago: past the approval SLA
    seeder.deals(1, ids[:1], {"dealname": "Bad deal - amount in words", "amount": "about 50k"})  # bad: amount
    seeder.deals(1, ids[1:2], {"dealname": "Bad deal - close date", "closedate": "end of Q3"})  # bad: date
    seeder.deals(max(0, deals - 4), ids)
    return partners
