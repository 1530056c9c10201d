"""HubSpot connector against the HubSpot sandbox over real HTTP (hubspot-api-client, urllib3)."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from config.systems import HubSpotSettings
from connectors.base import Cursor, RateLimited
from connectors.hubspot import HubSpotConnector
from sandbox.hubspot import HubSpotSandbox

CUSTOM = ["partnersync_id", "partnersync_tax_id", "partnersync_tier", "partnersync_customer_name",
          "partnersync_customer_domain", "partnersync_customer_country", "partnersync_products",
          "partnersync_registration_status", "partnersync_conflict_reason", "partnersync_expires_at",
          "partnersync_incentive_amount", "partnersync_incentive_status", "partnersync_accrued_ytd",
          "partnersync_paid_ytd", "partnersync_last_payout_at"]


@pytest.fixture
def hs() -> Iterator[HubSpotSandbox]:
    with HubSpotSandbox(window_limit=100_000, search_per_second=100_000) as sb:
        for kind in ("companies", "deals"):
            sb.define_properties(kind, *CUSTOM, unique="partnersync_id")
        yield sb


def connector(sb: HubSpotSandbox, **changes: Any) -> HubSpotConnector:
    return HubSpotConnector(HubSpotSettings(base_url=sb.url, access_token=sb.access_token, **changes))


def test_pull_crosses_the_10k_search_cap_without_loss_or_repeat(hs: HubSpotSandbox) -> None:
    base = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 1000)
    for i in range(10_450):
        hs.create("companies", {"name": f"Partner {i}"}, modified_ms=base + i // 3)  # three share each ms
    conn = connector(hs)
    seen = [r["id"] for page in conn.pull("partner", Cursor()) for r in page.records]
    assert len(seen) == 10_450 and len(set(seen)) == 10_450
    assert conn.usage.calls <= 53 + 1 + 1  # ceil(10450/200) pages (+1 at the restart) + the archived list


def test_equal_timestamps_and_cursor_resume(hs: HubSpotSandbox) -> None:
    stamp = int(datetime(2026, 2, 1, tzinfo=UTC).timestamp() * 1000)
    ids = [hs.create("companies", {"name": f"Same {i}"}, modified_ms=stamp)["id"] for i in range(5)]
    conn = connector(hs, search_page_size=2)
    pages = list(conn.pull("partner", Cursor()))
    assert [r["id"] for p in pages for r in p.records] == ids
    last = pages[-1].cursor
    assert last.last_id == ids[-1]
    later = hs.create("companies", {"name": "Later"})["id"]
    again = [r["id"] for p in conn.pull("partner", last) for r in p.records]
    assert again == [later]


def test_archived_records_are_deletions(hs: HubSpotSandbox) -> None:
    keep = hs.create("companies", {"name": "Keep"})["id"]
    gone = hs.create("companies", {"name": "Gone"})["id"]
    hs.archive("companies", gone)
    pages = list(connector(hs).pull("partner", Cursor()))
    assert [r["id"] for p in pages for r in p.records] == [keep]
    assert [d for p in pages for d in p.deleted] == [gone]


def test_archived_records_are_listed_every_archived_every_seconds(hs: HubSpotSandbox) -> None:
    hs.create("companies", {"name": "Keep"})
    conn = connector(hs)
    end = list(conn.pull("partner", Cursor()))[-1].cursor
    assert end.read_at is not None and end.deletes_at == end.read_at  # HubSpot's own clock, from `Date`
    gone = hs.create("companies", {"name": "Gone"})["id"]
    hs.archive("companies", gone)
    calls = conn.usage.calls
    assert not [d for p in conn.pull("partner", end) for d in p.deleted]
    assert conn.usage.calls == calls + 1  # one search; the archived list is not due for 300 s
    eager = connector(hs, archived_every_seconds=0)
    assert [d for p in eager.pull("partner", end) for d in p.deleted] == [gone]
    assert [d for p in conn.pull("partner", end, full=True) for d in p.deleted] == [gone]


def test_partial_batch_failure_and_idempotent_upsert(hs: HubSpotSandbox) -> None:
    conn = connector(hs)
    results = conn.push("partner", [{"partnersync_id": "p1", "name": "Acme"},
                                    {"partnersync_id": "p2", "name": "Bad", "no_such_property": "x"}])
    by_key = {r.key: r for r in results}
    assert by_key["p1"].success and by_key["p1"].created
    assert not by_key["p2"].success and by_key["p2"].error and "no_such_property" in by_key["p2"].error.message
    again = conn.push("partner", [{"partnersync_id": "p1", "name": "Acme Corp"}])
    assert again[0].success and not again[0].created and again[0].external_id == by_key["p1"].external_id
    assert [c["properties"]["name"] for c in hs.live("companies")] == ["Acme Corp"]


def test_429_is_retried_by_the_caller_and_5xx_by_the_connector(hs: HubSpotSandbox) -> None:
    hs.create("companies", {"name": "Acme"})
    conn = connector(hs)
    hs.faults.inject(502, body='{"status":"error","message":"Bad gateway"}', times=2, path="/search")
    assert len([r for p in conn.pull("partner", Cursor()) for r in p.records]) == 1
    hs.faults.inject(429, body='{"status":"error","message":"You have reached your secondly limit.",'
                     '"errorType":"RATE_LIMIT"}', headers={"Retry-After": "3"}, path="/search")
    with pytest.raises(RateLimited) as info:
        list(conn.pull("partner", Cursor()))
    assert info.value.retry_after == 3
    assert len([r for p in conn.pull("partner", Cursor()) for r in p.records]) == 1  # then success
    assert conn.usage.limit == 1_000_000 and conn.usage.used is not None


def test_real_window_limit_answers_429(hs: HubSpotSandbox) -> None:
    hs.window_limit = 3
    conn = connector(hs)
    with pytest.raises(RateLimited):
        for _ in range(5):
            list(conn.pull("partner", Cursor()))


def test_deal_partner_association_round_trip(hs: HubSpotSandbox) -> None:
    conn = connector(hs)
    [company] = conn.push("partner", [{"partnersync_id": "p1", "name": "Acme"}])
    [deal] = conn.push("deal", [{"partnersync_id": "d1", "dealname": "Big", "partner_company_id": company.external_id}])
    assert hs.associations.get(str(deal.external_id)) == company.external_id
    [record] = [r for p in conn.pull("deal", Cursor()) for r in p.records]
    assert record["partner_company_id"] == company.external_id and record["dealname"] == "Big"


def test_check_schema_lists_and_creates_missing_properties() -> None:
    with HubSpotSandbox() as sb:
        conn = connector(sb)
        missing = conn.check_schema()
        assert "companies.partnersync_id" in missing and "deals.partnersync_products" in missing
        assert conn.check_schema(create=True) == []
        assert conn.check_schema() == []
        assert sb.properties["companies"]["partnersync_id"]["hasUniqueValue"] is True


def test_bad_token_is_an_auth_error(hs: HubSpotSandbox) -> None:
    from connectors.base import AuthError

    conn = HubSpotConnector(HubSpotSettings(base_url=hs.url, access_token="wrong"))
    with pytest.raises(AuthError):
        list(conn.pull("partner", Cursor()))
