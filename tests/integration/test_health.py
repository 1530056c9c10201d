"""Stream health computed from crafted runs, quarantine, outbox and API usage rows, on both backends."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from config import Settings
from sync.health import AMBER, GREEN, RED, record_dead_letter, streams
from sync.store import Store
from sync.store.tables import ApiUsageRow, OutboxRow, SyncErrorRow, SyncRunRow

EXE = Path(sys.executable).parent / "partnersync"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def run(store: Store, system: str, entity: str, minutes_ago: int, status: str = "success", *,
        before: datetime = NOW, **values: Any) -> None:
    started = before - timedelta(minutes=minutes_ago)
    with store.session() as session:
        session.add(SyncRunRow(system=system, entity=entity, status=status, started_at=started,
                               finished_at=started + timedelta(seconds=30), duration_ms=30_000, **values))


def by_stream(store: Store, settings: Settings | None = None) -> dict[tuple[str, str], Any]:
    return {(s.system, s.entity): s for s in streams(store, settings, NOW)}


def test_a_healthy_stream_is_green_with_its_latest_counts_and_lag(store: Store) -> None:
    run(store, "hubspot", "partner", 60, records_in=10)
    run(store, "hubspot", "partner", 5, records_in=40, records_out=7, api_calls=3, errors={"validation": 0})
    [status] = streams(store, at=NOW)
    assert (status.system, status.entity, status.state, status.reasons) == ("hubspot", "partner", GREEN, [])
    assert (status.records_in, status.records_out, status.api_calls, status.errors) == (40, 7, 3, {})
    assert status.lag_seconds == 5 * 60  # caught up as of the latest successful run's start
    assert status.last_success_at == NOW - timedelta(minutes=5) + timedelta(seconds=30)
    assert status.error_rate_percent == 0.0 and status.duration_ms == 30_000


def test_lag_is_measured_from_the_newest_change_a_later_unfinished_run_brought(store: Store) -> None:
    run(store, "salesforce", "deal", 120)
    run(store, "salesforce", "deal", 10, status="rate_limited", newest_change_at=NOW - timedelta(minutes=50))
    status = by_stream(store)[("salesforce", "deal")]
    assert status.lag_seconds == 50 * 60
    assert status.state == RED and status.reasons[0] == "lag 50 min over 30 min"
    assert "last run stopped at a rate limit" in status.reasons


def test_errors_quarantine_outbox_and_api_usage_make_a_stream_amber(store: Store) -> None:
    run(store, "salesforce", "partner", 5, records_in=90, records_out=10, errors={"validation": 8, "remote": 2})
    with store.session() as session:
        for n in range(3):
            session.add(SyncErrorRow(system="salesforce", entity="partner", category="validation", message="bad",
                                     raw_payload={"Id": n}, external_id=str(n)))
        session.add(SyncErrorRow(system="salesforce", entity="partner", category="validation", message="ok now",
                                 raw_payload={}, status="resolved"))
        for n in range(4):
            session.add(OutboxRow(system="salesforce", entity="partner", hub_id=str(n), payload={}, payload_hash="h"))
        session.add(OutboxRow(system="salesforce", entity="partner", hub_id="x", payload={}, payload_hash="h",
                              status="sent"))
        session.add(ApiUsageRow(system="salesforce", used=10, limit=100, recorded_at=NOW - timedelta(hours=1)))
        session.add(ApiUsageRow(system="salesforce", used=85_000, limit=100_000, recorded_at=NOW))
        session.add(ApiUsageRow(system="salesforce", used=None, limit=None, calls=2, recorded_at=NOW))
    status = by_stream(store)[("salesforce", "partner")]
    assert (status.quarantined, status.outbox_backlog) == (3, 4)
    assert status.errors == {"validation": 8, "remote": 2} and status.error_rate_percent == 10.0
    assert (status.api_used, status.api_limit, status.api_percent) == (85_000, 100_000, 85.0)
    assert status.state == AMBER
    assert status.reasons == ["error rate 10.0% over 5.0%", "API usage 85.0% of the limit", "3 quarantined"]
    relaxed = Settings.model_validate({"alerts": {"error_rate_percent": 20, "api_usage_percent": 90}})
    assert by_stream(store, relaxed)[("salesforce", "partner")].reasons == ["3 quarantined"]


def test_failing_runs_in_a_row_and_dead_letters_make_a_stream_red(store: Store) -> None:
    run(store, "odoo", "partner", 20)
    run(store, "odoo", "partner", 15, status="failed", errors={"connector": 1})
    status = by_stream(store)[("odoo", "partner")]
    assert status.failing_runs == 1 and status.state == AMBER and status.reasons == ["last run failed"]
    assert status.error_rate_percent is None  # a run that failed before any record has no record error rate
    run(store, "odoo", "partner", 10, status="failed", errors={"connector": 1})
    run(store, "odoo", "partner", 5, status="failed", errors={"connector": 1})
    status = by_stream(store)[("odoo", "partner")]
    assert status.failing_runs == 3 and status.state == RED and status.reasons == ["3 runs failed in a row"]

    record_dead_letter(store, "odoo", "partner", "sync_stream", "retries exhausted after 10 attempts", NOW)
    status = streams(store, at=NOW)[0]
    assert status.dead_letters == 1 and status.last_status == "dead_letter" and status.failing_runs == 4
    assert "1 dead letters since the last success" in status.reasons

    run(store, "odoo", "partner", -1)  # a success after the dead letter clears both
    status = streams(store, at=NOW + timedelta(minutes=2))[0]
    assert (status.dead_letters, status.failing_runs, status.state) == (0, 0, GREEN)


def test_a_stream_that_never_succeeded_is_red_and_quarantine_alone_shows_a_stream(store: Store) -> None:
    run(store, "netsuite", "payout", 5, status="failed", errors={"connector": 1}, message="401")
    with store.session() as session:
        session.add(SyncErrorRow(system="hubspot", entity="deal", category="reference", message="no partner",
                                 raw_payload={}))
    found = by_stream(store)
    assert found[("netsuite", "payout")].state == RED and found[("netsuite", "payout")].lag_seconds is None
    assert "never succeeded" in found[("netsuite", "payout")].reasons
    assert found[("hubspot", "deal")].state == AMBER and found[("hubspot", "deal")].last_status is None


def status_cli(store: Store, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PARTNERSYNC_")},
           "PARTNERSYNC_DATABASE_URL": store.url, "COLUMNS": "250"}
    return subprocess.run([str(EXE), "status", *args], env=env, capture_output=True, text=True, timeout=60)


def cells_of(out: str) -> list[str]:
    """The column headings of a rich table."""
    [heading] = [line for line in out.splitlines() if line.startswith("┃")]
    return [c.strip() for c in heading.split("┃")[1:-1]]


def test_status_cli_shows_states_api_usage_dead_letters_and_the_alerts_firing(store: Store) -> None:
    at = datetime.now(UTC)  # the command measures lag from its own clock
    run(store, "hubspot", "partner", 2, records_in=12, records_out=3, before=at)
    for minutes in (4, 3, 2):
        run(store, "salesforce", "deal", minutes, status="failed", errors={"connector": 1}, before=at)
    record_dead_letter(store, "salesforce", "deal", "sync_stream", "retries exhausted after 10 attempts", at)
    with store.session() as session:
        session.add(ApiUsageRow(system="salesforce", used=92_000, limit=100_000))

    table = status_cli(store)
    assert table.returncode == 0, table.stderr  # informational: red streams are not a failure of the command
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in table.stdout.splitlines() if "│" in line]
    rows = {cells[1]: dict(zip(cells_of(table.stdout), cells, strict=True)) for cells in cells if cells[1]}
    assert rows["hubspot"]["state"] == "green" and (rows["hubspot"]["in"], rows["hubspot"]["out"]) == ("12", "3")
    assert rows["salesforce"]["state"] == "red" and rows["salesforce"]["last success"] == "never"
    assert rows["salesforce"]["API used/limit"] == "92000/100000 (92.0%)" and rows["salesforce"]["dead letters"] == "1"
    alerts_part = table.stdout.split("alerts firing: ")[1].splitlines()
    assert alerts_part[0] == "3"
    assert sorted(line.split()[:2] for line in alerts_part[1:]) == [
        ["api_usage", "salesforce:"], ["dead_letter", "salesforce.deal:"], ["failing_runs", "salesforce.deal:"]]

    data = json.loads(status_cli(store, "--json").stdout)
    deal = next(s for s in data["streams"] if s["entity"] == "deal")
    assert (deal["state"], deal["failing_runs"], deal["dead_letters"], deal["api_percent"]) == ("red", 4, 1, 92.0)
    assert sorted(a["rule"] for a in data["alerts"]) == ["api_usage", "dead_letter", "failing_runs"]
    assert all(a["state"] == "firing" and a["resolved_at"] is None for a in data["alerts"])
