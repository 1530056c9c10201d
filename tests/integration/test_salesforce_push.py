"""Pushes, archive, schema checks and every auth flow against the Salesforce sandbox over HTTPS."""

from decimal import Decimal

import pytest

from connectors.base import AuthError, Cursor
from mapping.model import Deal, DealProduct, Money
from mapping.salesforce import deal_map
from sandbox.salesforce import SalesforceSandbox
from tests.integration.salesforce_fixtures import connector_for, sandbox

__all__ = ["sandbox"]


def test_partial_push_failures_come_back_per_record(sandbox: SalesforceSandbox) -> None:
    conn = connector_for(sandbox, push_batch_size=2)
    records = [
        {"PartnerSync_Id__c": "p-1", "Name": "Acme GmbH", "BillingCountry": "DE"},
        {"PartnerSync_Id__c": "p-2", "Website": "no-name.example"},
        {"PartnerSync_Id__c": "p-3", "Name": "Bogus", "Not_A_Field__c": "x"},
        {"PartnerSync_Id__c": "p-4", "Name": "Dupe One"},
        {"PartnerSync_Id__c": "p-4", "Name": "Dupe Two"},
        {"Name": "No external id"},
    ]
    results = {(r.key, r.success, r.error.code if r.error else None) for r in conn.push("partner", records)}

    assert results == {("", False, "MISSING_EXTERNAL_ID"), ("p-1", True, None),
                       ("p-2", False, "REQUIRED_FIELD_MISSING"), ("p-3", False, "INVALID_FIELD"),
                       ("p-4", True, None)}
    assert conn.usage.calls == 3  # 5 records with an external id, 2 a call
    assert {r["Name"] for r in sandbox.records("Account")} == {"Acme GmbH", "Dupe Two"}  # p-4 updated by call 3

    [again] = conn.push("partner", [{"PartnerSync_Id__c": "p-1", "Name": "Acme AG"}])
    assert again.success and not again.created
    assert [r["Name"] for r in sandbox.records("Account") if r["PartnerSync_Id__c"] == "p-1"] == ["Acme AG"]


def test_duplicate_external_ids_in_one_call_fail_with_duplicate_value(sandbox: SalesforceSandbox) -> None:
    conn = connector_for(sandbox)
    results = conn.push("partner", [{"PartnerSync_Id__c": "same", "Name": "A"},
                                    {"PartnerSync_Id__c": "same", "Name": "B"}])
    assert [r.error.code if r.error else None for r in results] == ["DUPLICATE_VALUE", "DUPLICATE_VALUE"]
    assert results[0].error is not None and results[0].error.fields == ("PartnerSync_Id__c",)


def test_bulk_path_above_the_threshold(sandbox: SalesforceSandbox) -> None:
    conn = connector_for(sandbox, bulk_threshold=5)
    sandbox.seed_accounts(1, PartnerSync_Id__c="b-0", Phone="+1 415 555 0100")
    records = [{"PartnerSync_Id__c": f"b-{i}", "Name": f"Bulk, \"Partner\" {i}", "Phone": None} for i in range(7)]
    records.append({"PartnerSync_Id__c": "b-bad", "Name": None})

    results = {r.key: r for r in conn.push("partner", records)}

    assert sandbox.faults.count(r"/jobs/ingest$", "POST") == 1
    assert sandbox.faults.count(r"/composite/") == 0
    assert all(results[f"b-{i}"].success for i in range(7))
    assert not results["b-0"].created and results["b-1"].created
    bad = results["b-bad"].error
    assert bad is not None and (bad.code, bad.fields) == ("REQUIRED_FIELD_MISSING", ("Name",))
    stored = {r["PartnerSync_Id__c"]: r for r in sandbox.records("Account")}
    assert stored["b-3"]["Name"] == 'Bulk, "Partner" 3' and stored["b-0"]["Phone"] is None


def test_archive_deletes_and_reports_each_id(sandbox: SalesforceSandbox) -> None:
    ids = sandbox.seed_accounts(3)
    conn = connector_for(sandbox)
    results = conn.archive("partner", [ids[0], ids[1], "001000000000000AAA"])
    assert [r.success for r in results] == [True, True, False]
    assert results[2].error is not None and results[2].error.code == "INVALID_CROSS_REFERENCE_KEY"
    assert [i for p in conn.pull("partner", Cursor()) for i in p.deleted] == [ids[0], ids[1]]


def test_check_schema_names_missing_objects_and_fields(sandbox: SalesforceSandbox) -> None:
    assert connector_for(sandbox).check_schema() == []
    sandbox.remove_field("Opportunity", "PartnerSync_Incentive_Status__c")
    sandbox.remove_field("Account", "PartnerSync_Id__c")
    assert connector_for(sandbox).check_schema() == ["Account.PartnerSync_Id__c",
                                                     "Opportunity.PartnerSync_Incentive_Status__c"]
    assert connector_for(sandbox, account_object="Partner__c").check_schema()[0] == "Partner__c"


def test_deal_round_trips_through_the_map(sandbox: SalesforceSandbox) -> None:
    [partner] = sandbox.seed_accounts(1)
    settings_map = deal_map(connector_for(sandbox).settings)
    deal = Deal(name="Globex renewal", partner_id=partner, amount=Money(amount=Decimal("1999.99"), currency="EUR"),
                stage="won", products=[DealProduct(product="software", family="software")],
                customer_name="Globex", customer_domain="globex.com", registration_status="approved")
    record = settings_map.to_record(deal.model_dump(exclude_none=True, exclude={"is_partner_deal"}), "hub-deal-1")
    record["CloseDate"] = "2026-12-31"
    conn = connector_for(sandbox)
    [result] = conn.push("deal", [record])
    assert result.success, result.error

    [page] = conn.pull("deal", Cursor())
    back = settings_map.to_model(page.records[0])
    assert (back.name, back.partner_id, back.amount, back.stage) == (deal.name, partner, deal.amount, "won")
    assert [p.family for p in back.products] == ["software"] and back.registration_status == "approved"
    assert settings_map.hub_id(page.records[0]) == "hub-deal-1"


def test_password_login_and_one_reauth_on_an_expired_session(sandbox: SalesforceSandbox) -> None:
    creds = sandbox.creds
    sandbox.seed_accounts(3)
    conn = connector_for(sandbox, access_token=None, username=creds.username, password=creds.password,
                         security_token=creds.security_token)
    assert len(next(conn.pull("partner", Cursor())).records) == 3
    logins = creds.logins
    sandbox.expire_sessions()
    assert len(next(conn.pull("partner", Cursor())).records) == 3
    assert creds.logins == logins + 1


@pytest.mark.filterwarnings("ignore:(?s).*self-authorize:UserWarning")
def test_jwt_bearer_login(sandbox: SalesforceSandbox) -> None:
    creds = sandbox.creds
    conn = connector_for(sandbox, access_token=None, username=creds.username, consumer_key=creds.consumer_key,
                         private_key=creds.private_key)
    assert conn.check_schema() == []
    sandbox.expire_sessions()
    assert conn.check_schema() == []
    wrong = connector_for(sandbox, access_token=None, username="someone@else.test",
                          consumer_key=creds.consumer_key, private_key=creds.private_key)
    with pytest.raises(AuthError, match="invalid_grant"):
        wrong.check_schema()


def test_expired_token_without_credentials_to_refresh_is_an_auth_error(sandbox: SalesforceSandbox) -> None:
    conn = connector_for(sandbox)
    sandbox.expire_sessions()
    with pytest.raises(AuthError, match="session expired"):
        conn.check_schema()
    bad = connector_for(sandbox, access_token=None, username=sandbox.creds.username, password="wrong")
    with pytest.raises(AuthError, match="INVALID_LOGIN") as refused:
        bad.check_schema()
    assert "wrong" not in str(refused.value)
