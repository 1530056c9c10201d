"""GET /metrics: the hub's health in Prometheus text format, parsed with prometheus-client's own parser."""

from datetime import UTC, datetime, timedelta

from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from config import Settings
from sync.alerts import evaluate
from sync.health import record_dead_letter
from sync.store import Store
from sync.store.tables import ApiUsageRow, OutboxRow, SyncErrorRow, SyncRunRow
from web.app import create_app


def scrape(store: Store) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with TestClient(create_app(Settings(), store)) as client:
        response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text) for sample in family.samples}


def test_metrics_parse_and_report_streams_api_usage_and_alerts(store: Store) -> None:
    now = datetime.now(UTC)
    with store.session() as session:
        session.add(SyncRunRow(system="hubspot", entity="partner", status="success",
                               started_at=now - timedelta(minutes=3), finished_at=now - timedelta(minutes=2),
                               records_in=120, records_out=7, api_calls=9, duration_ms=2500,
                               errors={"validation": 2, "remote": 1}))
        session.add(SyncErrorRow(system="hubspot", entity="partner", category="validation", message="bad",
                                 raw_payload={}))
        session.add(OutboxRow(system="hubspot", entity="partner", hub_id="h1", payload={}, payload_hash="x"))
        session.add(ApiUsageRow(system="salesforce", used=95_000, limit=100_000))
    record_dead_letter(store, "salesforce", "deal", "sync_stream", "retries exhausted after 10 attempts")
    evaluate(store, Settings())

    found = scrape(store)
    hs = (("entity", "partner"), ("system", "hubspot"))
    assert found[("partnersync_records_in", hs)] == 120 and found[("partnersync_records_out", hs)] == 7
    assert found[("partnersync_errors", (("category", "remote"), *hs))] == 1
    assert found[("partnersync_errors", (("category", "validation"), *hs))] == 2
    assert found[("partnersync_run_duration_seconds", hs)] == 2.5 and found[("partnersync_run_api_calls", hs)] == 9
    assert found[("partnersync_quarantined", hs)] == 1 and found[("partnersync_outbox_backlog", hs)] == 1
    assert found[("partnersync_stream_state", hs)] == 1  # amber: a quarantined record
    assert 180 <= found[("partnersync_lag_seconds", hs)] < 3600
    assert found[("partnersync_last_success_timestamp_seconds", hs)] == (now - timedelta(minutes=2)).timestamp()
    sf = (("system", "salesforce"),)
    assert (found[("partnersync_api_calls_used", sf)], found[("partnersync_api_calls_limit", sf)],
            found[("partnersync_api_calls_remaining", sf)]) == (95_000, 100_000, 5_000)
    deal = (("entity", "deal"), ("system", "salesforce"))
    assert found[("partnersync_dead_letters", deal)] == 1 and found[("partnersync_stream_state", deal)] == 2
    assert found[("partnersync_alerts_firing", (("rule", "dead_letter"),))] == 1
    assert found[("partnersync_alerts_firing", (("rule", "api_usage"),))] == 1
    assert found[("partnersync_alerts_firing", (("rule", "lag"),))] == 0


def test_metrics_of_an_empty_hub_parse(store: Store) -> None:
    found = scrape(store)
    assert found[("partnersync_alerts_firing", (("rule", "registration_sla"),))] == 0
    assert not any(name == "partnersync_records_in" for name, _ in found)
