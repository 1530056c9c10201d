"""Pulls against the Salesforce sandbox over real HTTPS: paging, deletes, cursor ties, limits, injection."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from connectors.base import ConnectorError, Cursor, RateLimited
from mapping.model import Money
from mapping.salesforce import deal_map
from sandbox.salesforce import SalesforceSandbox
from tests.integration.salesforce_fixtures import connector_for, sandbox

__all__ = ["sandbox"]


def test_pull_streams_pages_and_reports_deletes_across_pages(sandbox: SalesforceSandbox) -> None:
    sandbox.org.now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)  # deletes in the seed's second: spread over pages
    ids = sandbox.seed_accounts(450)
    gone = set(ids[5:400:7])
    for record_id in gone:
        sandbox.delete(record_id)
    conn = connector_for(sandbox)

    pages = list(conn.pull("partner", Cursor()))

    assert len(pages) == 3
    deleted = [i for p in pages for i in p.deleted]
    live = [r["Id"] for p in pages for r in p.records]
    assert set(deleted) == gone and len(deleted) == len(gone)
    assert sorted(live) == sorted(set(ids) - gone)
    assert sum(1 for p in pages if p.deleted) >= 2
    assert all("attributes" not in r for p in pages for r in p.records)
    assert conn.usage.calls == 3 and conn.usage.used == 3 and conn.usage.limit == sandbox.api_limit
    assert pages[-1].cursor.last_id == max(ids, key=lambda i: (sandbox.get("Account", i)["SystemModstamp"], i))

    assert pages[-1].cursor.modified_at is not None
    sandbox.org.now = pages[-1].cursor.modified_at + timedelta(seconds=1)
    sandbox.update("Account", ids[0], Name="Renamed GmbH")
    later = list(conn.pull("partner", pages[-1].cursor))
    assert [r["Name"] for p in later for r in p.records] == ["Renamed GmbH"]


def test_cursor_breaks_ties_on_equal_timestamps(sandbox: SalesforceSandbox) -> None:
    sandbox.org.now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    ids = sandbox.seed_accounts(450)
    conn = connector_for(sandbox)

    first = next(conn.pull("partner", Cursor()))
    assert first.cursor == Cursor(sandbox.org.now, ids[199])
    rest = [r["Id"] for p in conn.pull("partner", first.cursor) for r in p.records]

    assert [r["Id"] for r in first.records] + rest == ids
    assert conn.usage.calls == 3  # one batch of the first query, then a new query from the cursor: 2 batches


def test_limit_stops_cleanly_and_the_run_resumes_from_the_cursor(sandbox: SalesforceSandbox) -> None:
    ids = sandbox.seed_accounts(450)
    conn = connector_for(sandbox)
    sandbox.api_limit = sandbox.api_used + 2
    seen: list[str] = []
    cursor = Cursor()

    with pytest.raises(RateLimited) as stop:
        for page in conn.pull("partner", cursor):
            seen += [r["Id"] for r in page.records]
            cursor = page.cursor
    assert stop.value.retry_after and len(seen) == 400
    assert conn.usage.remaining == 0

    sandbox.new_day()
    seen += [r["Id"] for p in conn.pull("partner", cursor) for r in p.records]
    assert seen == ids


def test_quotes_and_backslashes_round_trip_and_cannot_alter_a_query(sandbox: SalesforceSandbox) -> None:
    nasty = "O'Brien \\ Söhne \"Partners\"' OR Name != '\\"
    sandbox.org.now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)  # every row in one second
    conn = connector_for(sandbox, partner_filter="")
    [result] = conn.push("partner", [{"PartnerSync_Id__c": "hub-1", "Name": nasty}])
    assert result.success, result.error
    [page] = conn.pull("partner", Cursor())
    assert page.records[0]["Name"] == nasty

    sandbox.seed_accounts(3)
    hostile = Cursor(datetime(2999, 1, 1, tzinfo=UTC), "' OR Id != '")
    assert [r for p in conn.pull("partner", hostile) for r in p.records] == []
    hostile = Cursor(page.cursor.modified_at, "zzz') OR (Name != '")
    assert [r for p in conn.pull("partner", hostile) for r in p.records] == []


def test_unsupported_soql_is_a_malformed_query(sandbox: SalesforceSandbox) -> None:
    conn = connector_for(sandbox)
    with pytest.raises(ConnectorError, match="MALFORMED_QUERY"):
        conn.call(lambda sf: sf.query("SELECT Id FROM Account WHERE Name = 'a' AND Phone = 'b' OR Id = 'c'"), "q")
    with pytest.raises(ConnectorError, match="INVALID_FIELD"):
        conn.call(lambda sf: sf.query("SELECT Id FROM Account WHERE SystemModstamp > '2026-01-01'"), "q")


def test_server_errors_are_retried_then_transient(sandbox: SalesforceSandbox) -> None:
    from connectors.base import TransientError

    sandbox.seed_accounts(5)
    conn = connector_for(sandbox)
    sandbox.server_errors(times=1)
    assert len(next(conn.pull("partner", Cursor())).records) == 5
    assert conn.usage.calls == 2
    sandbox.server_errors(times=5)
    with pytest.raises(TransientError):
        list(conn.pull("partner", Cursor()))


def test_slow_responses_time_out_into_a_transient_error(sandbox: SalesforceSandbox) -> None:
    from connectors.base import TransientError

    conn = connector_for(sandbox, timeout_seconds=0.2)
    sandbox.slow(0.5)
    with pytest.raises(TransientError, match="timed out"):
        list(conn.pull("partner", Cursor()))


def test_deals_pull_and_map_with_line_items(sandbox: SalesforceSandbox) -> None:
    partners = sandbox.seed_accounts(2)
    [deal_id] = sandbox.seed_opportunities(1, partners, StageName="Closed Won", Amount=1234.5,
                                           CurrencyIsoCode="EUR")
    sandbox.org.table("Opportunity")[deal_id]["_line_items"] = [
        {"Id": "00k1", "Quantity": 2.0, "TotalPrice": 1000.0, "Product2": {"Name": "Suite", "Family": "software"}},
        {"Id": "00k2", "Quantity": 1.0, "TotalPrice": 234.5, "Product2": {"Name": "Setup", "Family": "services"}}]
    conn = connector_for(sandbox, products_mode="line_items")

    [page] = conn.pull("deal", Cursor())
    deal = deal_map(conn.settings).to_model(page.records[0])

    assert deal.stage == "won" and deal.amount == Money(amount=Decimal("1234.5"), currency="EUR")
    products = [(p.product, p.family, p.quantity) for p in deal.products]
    assert products == [("Suite", "software", 2), ("Setup", "services", 1)]
    assert deal.partner_id in partners and deal.is_partner_deal
    [end] = conn.pull("deal", page.cursor)  # nothing new: one empty page telling when the stream was read
    assert end.records == end.deleted == [] and end.cursor == page.cursor and end.cursor.read_at is not None
