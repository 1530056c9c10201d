"""Salesforce field maps both ways, with names from settings."""

from datetime import UTC, datetime
from decimal import Decimal

from config.systems import SalesforceSettings
from mapping.model import DealProduct, Money
from mapping.salesforce import deal_map, partner_map

OPPORTUNITY = {
    "Id": "006A", "SystemModstamp": "2026-03-04T05:06:07.000+0000", "IsDeleted": False,
    "PartnerSync_Id__c": "hub-9", "Name": "Initech expansion", "PartnerAccountId": "001P", "Amount": 25000.1,
    "CurrencyIsoCode": "GBP", "StageName": "Closed Lost", "CloseDate": "2026-04-30", "OwnerId": "005X",
    "CreatedDate": "2026-01-01T00:00:00.000+0000", "PartnerSync_Customer_Name__c": "Initech",
    "PartnerSync_Customer_Domain__c": "https://www.initech.co.uk/about", "PartnerSync_Customer_Country__c": "UK",
    "PartnerSync_Registration_Status__c": "Approved", "PartnerSync_Conflict_Reason__c": None,
    "PartnerSync_Registration_Expires__c": "2026-07-01T00:00:00.000+0000",
    "PartnerSync_Products__c": "software;services",
}


def test_opportunity_to_deal() -> None:
    fmap = deal_map(SalesforceSettings())
    deal = fmap.to_model(OPPORTUNITY)
    assert deal.amount == Money(amount=Decimal("25000.1"), currency="GBP")
    assert (deal.stage, deal.registration_status, deal.partner_id, deal.is_partner_deal) == (
        "lost", "approved", "001P", True)
    assert [p.family for p in deal.products] == ["software", "services"]
    assert deal.customer_domain == "initech.co.uk" and deal.customer_country == "GB"
    assert deal.closed_at == datetime(2026, 4, 30, tzinfo=UTC)
    assert deal.modified_at == datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert fmap.references == {"partner_id": "partner"} and fmap.hub_id(OPPORTUNITY) == "hub-9"


def test_deal_to_opportunity_uses_configured_names() -> None:
    settings = SalesforceSettings(won_stage="Won", external_id_field="Hub_Key__c",
                                  fields={"registration_status": "Reg_Status__c"})
    values = {"name": "Deal", "stage": "won", "amount": Money(amount=Decimal("10.50"), currency="EUR"),
              "products": [DealProduct(product="x", family="support"), DealProduct(product="y", family="support")],
              "registration_status": "rejected", "owner": "005X",
              "expires_at": datetime(2026, 5, 1, 12, tzinfo=UTC), "closed_at": datetime(2026, 6, 1, tzinfo=UTC)}
    record = deal_map(settings).to_record(values, "hub-1")
    assert record == {"Name": "Deal", "StageName": "Won", "Amount": "10.50", "CurrencyIsoCode": "EUR",
                      "PartnerSync_Products__c": "support", "Reg_Status__c": "rejected",
                      "PartnerSync_Registration_Expires__c": "2026-05-01T12:00:00.000+0000",
                      "CloseDate": "2026-06-01", "Hub_Key__c": "hub-1"}


def test_open_stage_and_missing_amount() -> None:
    fmap = deal_map(SalesforceSettings())
    deal = fmap.to_model({**OPPORTUNITY, "StageName": "Negotiation/Review", "Amount": None})
    assert deal.stage == "open" and deal.amount is None
    assert fmap.to_record({"stage": "open"}, "h")["StageName"] == "Prospecting"


def test_line_items_mode_reads_products_from_line_items() -> None:
    fmap = deal_map(SalesforceSettings(products_mode="line_items"))
    items = {"totalSize": 1, "done": True, "records": [
        {"Quantity": 3.0, "TotalPrice": 300.0, "Product2": {"Name": "Seats", "Family": "software"}}]}
    deal = fmap.to_model({**OPPORTUNITY, "OpportunityLineItems": items})
    assert deal.products == [DealProduct(product="Seats", family="software", quantity=Decimal(3),
                                         amount=Money(amount=Decimal("300.0"), currency="GBP"))]
    assert "PartnerSync_Products__c" not in fmap.to_record({"products": deal.products}, "h")


def test_account_to_partner_and_back() -> None:
    fmap = partner_map(SalesforceSettings())
    account = {"Id": "001A", "SystemModstamp": "2026-03-04T05:06:07.000+0000", "Name": "Müller & Söhne GmbH",
               "Website": "http://shop.mueller.de", "Phone": "+49 30 1234567", "BillingCountry": "Germany",
               "PartnerSync_Tax_Id__c": "DE 123.456.789", "PartnerSync_Tier__c": "Gold"}
    partner = fmap.to_model(account)
    assert (partner.website, partner.phone, partner.country, partner.tax_id, partner.tier) == (
        "mueller.de", "+49301234567", "DE", "DE123456789", "Gold")
    assert fmap.to_record(partner.model_dump(exclude_none=True, exclude={"status", "modified_at"}), "hub-2") == {
        "Name": "Müller & Söhne GmbH", "Website": "mueller.de", "Phone": "+49301234567", "BillingCountry": "DE",
        "PartnerSync_Tax_Id__c": "DE123456789", "PartnerSync_Tier__c": "Gold", "PartnerSync_Id__c": "hub-2"}
