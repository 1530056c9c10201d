"""The Salesforce connector's HTTP behaviour, with `responses` standing in for Salesforce."""

import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse

import pytest
import responses

from config.systems import SalesforceSettings
from connectors.base import AuthError, Cursor, RateLimited, TransientError
from connectors.salesforce import SalesforceConnector
from connectors.salesforce_bulk import parse_error, to_csv

BASE = "https://acme.my.salesforce.com"
DATA = f"{BASE}/services/data/v61.0"
LOGIN = "https://login.salesforce.com"
SOAP_OK = """<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope
 xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com"><soapenv:Body>
<loginResponse><result><serverUrl>https://acme.my.salesforce.com/services/Soap/u/61.0/00D</serverUrl>
<sessionId>SESSION-{n}</sessionId></result></loginResponse></soapenv:Body></soapenv:Envelope>"""


def connector(**overrides: object) -> SalesforceConnector:
    values: dict[str, object] = {"instance_url": BASE, "access_token": "TOKEN", "retry_attempts": 3}
    values.update(overrides)
    return SalesforceConnector(SalesforceSettings.model_validate(values))


def query_body(rows: list[dict[str, object]], next_url: str | None = None) -> dict[str, object]:
    body: dict[str, object] = {"totalSize": len(rows), "done": next_url is None, "records": rows}
    if next_url:
        body["nextRecordsUrl"] = next_url
    return body


def query_of(call: int) -> str:
    return parse_qs(urlparse(str(responses.calls[call].request.url)).query)["q"][0]


def row(record_id: str, stamp: str, deleted: bool = False) -> dict[str, object]:
    return {"attributes": {"type": "Account", "url": f"/x/{record_id}"}, "Id": record_id,
            "SystemModstamp": stamp, "IsDeleted": deleted, "Name": f"n{record_id}"}


@responses.activate
def test_pull_follows_next_records_url_and_reads_the_limit_header() -> None:
    responses.get(f"{DATA}/queryAll/", json=query_body([row("001A", "2026-01-02T03:04:05.000+0000")],
                                                      "/services/data/v61.0/query/01gX-2000"),
                  headers={"Sforce-Limit-Info": "api-usage=10/15000"})
    responses.get(f"{DATA}/query/01gX-2000", json=query_body([row("001B", "2026-01-02T03:04:06.000+0000", True)]),
                  headers={"Sforce-Limit-Info": "api-usage=11/15000"})
    conn = connector()
    cursor = Cursor(datetime(2026, 1, 1, tzinfo=UTC), "001'Z")

    pages = list(conn.pull("partner", cursor))

    assert [p.records for p in pages] == [[{"Id": "001A", "SystemModstamp": "2026-01-02T03:04:05.000+0000",
                                            "IsDeleted": False, "Name": "n001A"}], []]
    assert pages[1].deleted == ["001B"]
    assert pages[1].cursor == Cursor(datetime(2026, 1, 2, 3, 4, 6, tzinfo=UTC), "001B")
    soql = query_of(0)
    assert "FROM Account WHERE ((IsPartner = true) OR PartnerSync_Id__c != null) AND " \
           "(SystemModstamp > 2026-01-01T00:00:00+00:00 OR (SystemModstamp = 2026-01-01T00:00:00+00:00 " \
           "AND Id > '001\\'Z')) ORDER BY SystemModstamp, Id" in soql
    assert responses.calls[0].request.headers["Sforce-Query-Options"] == "batchSize=2000"
    assert (conn.usage.calls, conn.usage.used, conn.usage.limit, conn.usage.remaining) == (2, 11, 15000, 14989)


@responses.activate
def test_full_pull_has_no_cursor_condition() -> None:
    responses.get(f"{DATA}/queryAll/", json=query_body([]))
    list(connector(partner_filter="").pull("partner", Cursor(datetime(2026, 1, 1, tzinfo=UTC), "x"), full=True))
    assert " WHERE " not in query_of(0)


@responses.activate
def test_request_limit_exceeded_is_rate_limited() -> None:
    responses.get(f"{DATA}/queryAll/", status=403, json=[{"message": "TotalRequests Limit exceeded.",
                                                           "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
                  headers={"Sforce-Limit-Info": "api-usage=15001/15000"})
    conn = connector()
    with pytest.raises(RateLimited) as stop:
        list(conn.pull("partner", Cursor()))
    assert stop.value.retry_after and conn.usage.remaining == -1


@responses.activate
def test_server_errors_retry_then_give_up_as_transient() -> None:
    responses.get(f"{DATA}/queryAll/", status=503, json=[{"message": "busy", "errorCode": "SERVER_UNAVAILABLE"}])
    conn = connector(retry_attempts=2)
    with pytest.raises(TransientError, match="after 2 attempts"):
        list(conn.pull("partner", Cursor()))
    assert conn.usage.calls == 2


@responses.activate
def test_expired_session_logs_in_again_once() -> None:
    logins = iter(range(1, 10))
    responses.add_callback(responses.POST, f"{LOGIN}/services/Soap/u/61.0",
                           callback=lambda request: (200, {}, SOAP_OK.format(n=next(logins))))
    expired = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    responses.get(f"{DATA}/sobjects/Account/describe", status=401, json=expired)
    responses.get(f"{DATA}/sobjects/Account/describe", json={"fields": []})
    responses.get(f"{DATA}/sobjects/Opportunity/describe", status=401, json=expired)
    responses.get(f"{DATA}/sobjects/Opportunity/describe", status=401, json=expired)
    conn = connector(access_token=None, instance_url=None, username="u@x.test", password="pw", security_token="t")

    with pytest.raises(AuthError, match="describe Opportunity: session expired"):
        conn.check_schema()

    soap = [c for c in responses.calls if "Soap" in str(c.request.url)]
    assert len(soap) == 3  # first login, one re-login per expired call
    assert "<n1:password>pwt</n1:password>" in str(soap[0].request.body)
    assert responses.calls[3].request.headers["Authorization"] == "Bearer SESSION-2"


@responses.activate
def test_push_maps_per_record_errors_and_sends_attributes() -> None:
    responses.patch(f"{DATA}/composite/sobjects/Account/PartnerSync_Id__c", json=[
        {"id": "001A", "success": True, "errors": [], "created": True},
        {"success": False, "errors": [{"statusCode": "STRING_TOO_LONG", "message": "Name: too long",
                                       "fields": ["Name"]}]}])
    results = connector().push("partner", [{"PartnerSync_Id__c": "h1", "Name": "a"},
                                           {"PartnerSync_Id__c": "h2", "Name": "b" * 300}])
    assert [(r.key, r.success, r.external_id, r.created) for r in results] == [
        ("h1", True, "001A", True), ("h2", False, None, False)]
    assert str(results[1].error) == "STRING_TOO_LONG: Name: too long [Name]"
    body = json.loads(responses.calls[0].request.body or b"")
    assert body["allOrNone"] is False and body["records"][0]["attributes"] == {"type": "Account"}


def test_bulk_csv_and_error_format() -> None:
    assert to_csv([{"A": "x,y", "B": None}, {"A": True}]) == 'A,B\n"x,y",#N/A\ntrue,\n'
    error = parse_error("REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --")
    assert (error.code, error.message, error.fields) == ("REQUIRED_FIELD_MISSING",
                                                         "Required fields are missing: [Name]", ("Name",))
    assert parse_error("INVALID_FIELD:Foo bar").message == "Foo bar"


def test_settings_reject_names_that_could_alter_soql() -> None:
    with pytest.raises(ValueError, match="not a Salesforce API name"):
        SalesforceSettings(account_object="Account WHERE Id != null")


def test_no_credentials_is_an_auth_error() -> None:
    with pytest.raises(AuthError, match="no usable credentials"):
        connector(access_token=None).check_schema()
