"""The web app over real HTTP on a hub seeded by real sync cycles: /healthz, the dashboard's forms (CSRF,
basic auth, each action changes the hub), reconciliation, and the CRM cards (HubSpot v3, signed links)."""

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from sandbox.netsuite import NetSuiteSandbox
from sandbox.server import SandboxServer
from sync.alerts import evaluate
from sync.health import streams
from sync.quarantine import put
from sync.replay import edit
from sync.store import Store
from sync.store.tables import (
    DealRow,
    DuplicateCandidateRow,
    RegistrationConflictRow,
    SyncErrorRow,
)
from sync.timeline import series
from tests.web_helpers import (
    CARD_SECRET,
    CONSUMER_SECRET,
    HUBSPOT_SECRET,
    PERIOD,
    TOKEN_SECRET,
    Hub,
    seed,
    web_settings,
)
from web.app import create_app
from web.card import link
from web.webhooks import signature


@pytest.fixture
def hub(store: Store) -> Hub:
    return seed(store, web_settings())


@pytest.fixture
def served(hub: Hub) -> Iterator[str]:
    app = create_app(hub.engine.settings, hub.store, systems=hub.engine.systems)
    with SandboxServer(app) as server:
        yield server.url


def page(client: httpx.Client, url: str) -> tuple[str, str]:
    """The dashboard's HTML and its form token (the client keeps the cookie)."""
    answer = client.get(url)
    assert answer.status_code == 200, answer.text
    match = re.search(r'name="csrf" value="([^"]+)"', answer.text)
    assert match, "the page has a form"
    return answer.text, match.group(1)


def post(client: httpx.Client, url: str, path: str, **form: str) -> httpx.Response:
    """Submit a form of the dashboard and follow the 303 back to the page."""
    answer = client.post(f"{url}{path}", data={"back": "/", **form})
    assert answer.status_code == 303 and answer.headers["location"] == "/", answer.text
    return client.get(f"{url}/")


def test_healthz_names_what_failed(store: Store, redis_url: str) -> None:
    ok = create_app(web_settings(), store, redis_url=redis_url)
    down = create_app(web_settings(), store, redis_url="redis://127.0.0.1:9/0")
    broken = create_app(web_settings(), Store("postgresql://nobody@127.0.0.1:9/none"))
    with SandboxServer(ok) as a, SandboxServer(down) as b, SandboxServer(broken) as c:
        fine = httpx.get(f"{a.url}/healthz")
        assert fine.status_code == 200 and fine.json() == {"status": "ok", "database": "ok", "redis": "ok"}
        no_redis = httpx.get(f"{b.url}/healthz")
        assert no_redis.status_code == 503 and no_redis.json()["failed"] == ["redis"]
        no_db = httpx.get(f"{c.url}/healthz")
        assert no_db.status_code == 503 and no_db.json()["failed"] == ["database"]
        assert no_db.json()["redis"] == "not used"
        assert "nobody" not in no_db.text
        shown = httpx.get(f"{c.url}/")
        assert shown.status_code == 503 and "hub database is unavailable" in shown.text and "nobody" not in shown.text


def test_dashboard_shows_the_hub(hub: Hub, served: str) -> None:
    evaluate(hub.store, hub.engine.settings)
    with hub.store.session() as s:  # a remote error that echoes a credential back
        put(s, system="hubspot", entity="partner", category="remote", message=f"denied for {HUBSPOT_SECRET}",
            raw={"Name": "Echo"}, external_id="hs-echo")
    with httpx.Client() as client:
        html, _ = page(client, f"{served}/?period={PERIOD}")
    for expected in ("salesforce", "hubspot", "not a phone number", "Initech LLC", "Initech Inc",
                     "Contoso rollout web-d1", "1234.50 USD", "<svg", "Lag (minutes)", "Acme GmbH",
                     "<strong>error_rate</strong> salesforce.partner", 'class="state-amber"'):
        assert expected in html, expected
    assert CARD_SECRET not in html and HUBSPOT_SECRET not in html and "denied for **********" in html


def test_timeline_ends_where_the_streams_table_stands(hub: Hub) -> None:
    hub.sf.add("partner", Name="Late one", Country="FR")
    hub.engine.cycle()
    now = datetime.now(UTC)
    timeline = {s.name: s for s in series(hub.store, now - timedelta(hours=1))}
    table = {f"{s.system} {s.entity}": s for s in streams(hub.store, hub.engine.settings, now)}
    first, *_, last = timeline["salesforce partner"].points
    assert first.error_rate == 16.7 and first.lag_seconds is not None  # 1 bad record of 3 in + 3 out
    assert last.error_rate == (table["salesforce partner"].error_rate_percent or 0.0)
    assert set(timeline) == {"salesforce partner", "salesforce deal", "hubspot partner", "hubspot deal"}
    assert series(hub.store, now + timedelta(minutes=1)) == []


def test_forms_refuse_a_missing_or_forged_token(hub: Hub, served: str) -> None:
    with httpx.Client() as client:
        page(client, f"{served}/")
        with hub.store.session() as s:
            error_id = s.scalars(select(SyncErrorRow.id)).one()
        for form in ({}, {"csrf": "forged"}):
            answer = client.post(f"{served}/quarantine/{error_id}/replay", data=form)
            assert answer.status_code == 403 and "form token" in answer.text
    with httpx.Client() as browser, httpx.Client() as stranger:  # a token without the cookie it was made for
        _, token = page(browser, f"{served}/")
        assert stranger.post(f"{served}/quarantine/{error_id}/replay", data={"csrf": token}).status_code == 403
    with hub.store.session() as s:
        row = s.get(SyncErrorRow, error_id)
        assert row is not None and row.status == "open" and row.attempts == 1


def test_replay_fixes_an_edited_record_and_the_page_says_so(hub: Hub, served: str) -> None:
    with hub.store.session() as s:
        error = s.scalars(select(SyncErrorRow)).one()
    with httpx.Client() as client:
        _, token = page(client, f"{served}/")
        still = post(client, served, f"/quarantine/{error.id}/replay", csrf=token)
        assert "still failing" in still.text
        edit(hub.store, error.id, {**error.raw_payload, "Phone": "+1 415 555 0100"})
        fixed = post(client, served, f"/quarantine/{error.id}/replay", csrf=token)
    assert f"record {error.id} replayed: fixed" in fixed.text and "Nothing quarantined." in fixed.text
    assert "still failing" not in fixed.text  # the flash message is shown once
    with hub.store.session() as s:
        assert s.scalars(select(SyncErrorRow.status)).all() == ["resolved"]


def test_duplicate_merge_and_conflict_resolution_change_the_hub(hub: Hub, served: str) -> None:
    with hub.store.session() as s:
        candidate = s.scalars(select(DuplicateCandidateRow)).one()
        conflict = s.scalars(select(RegistrationConflictRow)).one()
    with httpx.Client() as client:
        _, token = page(client, f"{served}/")
        bad = post(client, served, f"/conflicts/{conflict.id}/resolve", csrf=token, winner="nope")
        assert "winner &#39;nope&#39; is neither" in bad.text
        resolved = post(client, served, f"/conflicts/{conflict.id}/resolve", csrf=token, winner="web-d2")
        assert "No open conflict." in resolved.text
        merged = post(client, served, f"/duplicates/{candidate.id}/decide", csrf=token, decision="merge")
        assert f"pair {candidate.id} merged" in merged.text and "No pair waits for review." in merged.text
        again = post(client, served, f"/duplicates/{candidate.id}/decide", csrf=token, decision="reject")
        assert "already" in again.text
    with hub.store.session() as s:
        decided = s.get(RegistrationConflictRow, conflict.id)
        loser = s.get(DealRow, "web-d1")
        merged_pair = s.get(DuplicateCandidateRow, candidate.id)
        assert decided is not None and decided.status != "open" and decided.winner_deal_id == "web-d2"
        assert decided.resolved_by == "web:dashboard"
        assert loser is not None and loser.registration_status == "rejected"
        assert merged_pair is not None and merged_pair.status != "open" and merged_pair.decided_by == "web:dashboard"


def test_reject_keeps_both_partners(hub: Hub, served: str) -> None:
    with hub.store.session() as s:
        candidate = s.scalars(select(DuplicateCandidateRow)).one()
    with httpx.Client() as client:
        _, token = page(client, f"{served}/")
        post(client, served, f"/duplicates/{candidate.id}/decide", csrf=token, decision="reject")
    with hub.store.session() as s:
        row = s.get(DuplicateCandidateRow, candidate.id)
        assert row is not None and row.status == "rejected"


def test_basic_auth_guards_the_dashboard_when_configured(hub: Hub) -> None:
    config = web_settings(username="ops", password="s3cret-pass")
    with SandboxServer(create_app(config, hub.store, systems=hub.engine.systems)) as server:
        assert httpx.get(f"{server.url}/").status_code == 401
        assert httpx.get(f"{server.url}/", auth=("ops", "wrong")).status_code == 401
        assert httpx.post(f"{server.url}/quarantine/1/replay").status_code == 401
        assert httpx.get(f"{server.url}/healthz").status_code == 200
        with httpx.Client(auth=("ops", "s3cret-pass")) as client:
            html, _ = page(client, f"{server.url}/")
    assert "s3cret-pass" not in html


def test_reconciliation_against_an_erp(hub: Hub) -> None:
    unreachable = create_app(hub.engine.settings, hub.store)
    with SandboxServer(unreachable) as server:
        html = httpx.get(f"{server.url}/?period={PERIOD}&reconcile=1").text
    assert "the ERP (netsuite) could not be read" in html
    sandbox = NetSuiteSandbox(consumer_secret=CONSUMER_SECRET, token_secret=TOKEN_SECRET)
    with SandboxServer(sandbox.app) as erp:
        config = hub.engine.settings.model_copy(update={"erp": hub.engine.settings.erp.model_copy(
            update={"base_url": f"{erp.url}/services/rest"})})
        with SandboxServer(create_app(config, hub.store)) as server:
            html = httpx.get(f"{server.url}/?period={PERIOD}&reconcile=1").text
    assert "Reconciliation 2026-05" in html and "missing_bill" in html and "web-payout" in html
    assert CONSUMER_SECRET not in html and TOKEN_SECRET not in html


def hubspot_card(url: str, query: dict[str, str], *, secret: str = HUBSPOT_SECRET, age_ms: int = 0,
                 signed: bool = True) -> httpx.Response:
    uri = f"{url}/card/hubspot?{urlencode(query)}"
    stamp = str(int(time.time() * 1000) - age_ms)
    signed_uri = uri.replace("%40", "@")  # HubSpot signs the URI with such characters decoded
    headers = {"X-HubSpot-Signature-v3": signature(secret, "GET", signed_uri, b"", stamp),
               "X-HubSpot-Request-Timestamp": stamp} if signed else {}
    return httpx.get(uri, headers=headers)


def test_hubspot_card_needs_hubspots_signature(hub: Hub, served: str) -> None:
    with hub.store.session() as s:
        s.add(DealRow(id="web-d3", partner_id=hub.acme_hub, name="Acme renewal", registration_status="approved"))
    hs_company = next(r["Id"] for r in hub.hs.data["partner"].values() if r["HubId"] == hub.acme_hub)
    query = {"userId": "7", "userEmail": "rep@example.com", "associatedObjectId": hs_company,
             "associatedObjectType": "COMPANY", "portalId": "62515"}
    assert hubspot_card(served, query, signed=False).status_code == 401
    assert hubspot_card(served, query, secret="someone-else").status_code == 403
    assert hubspot_card(served, query, age_ms=6 * 60 * 1000).status_code == 403
    answer = hubspot_card(served, query)
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    titles = [r["title"] for r in results]
    assert titles[0] == "Acme GmbH" and "Registrations (3)" in titles and "Conflicts (1 open)" in titles
    props = {p["label"]: p for r in results for p in r["properties"]}
    assert "Acme renewal" in props and props["2026-05 approved"] == {
        "label": "2026-05 approved", "dataType": "CURRENCY", "value": "1234.50", "currencyCode": "USD"}
    unknown = hubspot_card(served, {**query, "associatedObjectId": "404"})
    assert unknown.status_code == 200 and unknown.json() == {"results": []}


def test_salesforce_card_needs_a_signed_unexpired_link(hub: Hub, served: str) -> None:
    config = hub.engine.settings.model_copy(update={"web": hub.engine.settings.web.model_copy(
        update={"public_url": served})})
    now = datetime.now(UTC)
    good = link(config, "Account", hub.acme_sf, timedelta(hours=1), now)
    answer = httpx.get(good)
    assert answer.status_code == 200, answer.text
    assert "Acme GmbH" in answer.text and "Contoso rollout web-d1" in answer.text and "1234.50" in answer.text
    assert "frame-ancestors" in answer.headers["content-security-policy"]
    assert httpx.get(f"{served}/card/salesforce/Account/{hub.acme_sf}").status_code == 401
    assert httpx.get(good.replace(hub.acme_sf, hub.bad_phone)).status_code == 403  # tampered id
    assert httpx.get(good[:-3] + "abc").status_code == 403  # tampered signature
    expired = link(config, "Account", hub.acme_sf, timedelta(hours=1), now - timedelta(hours=2))
    answer = httpx.get(expired)
    assert answer.status_code == 403 and "expired" in answer.text
    assert httpx.get(link(config, "Account", "001NOPE", timedelta(hours=1), now)).status_code == 404
    other = config.model_copy(update={"web": config.web.model_copy(update={"card_secret": SecretStr("other-secret")})})
    assert httpx.get(link(other, "Account", hub.acme_sf, timedelta(hours=1), now)).status_code == 403
