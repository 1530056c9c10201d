"""Each alert rule fires on crafted state, resolves when the state clears, and stays in the history."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from structlog.testing import capture_logs

from config import Settings
from sync.alerts import evaluate, firing, history
from sync.health import record_dead_letter
from sync.logs import configure
from sync.reconcile import Difference, record
from sync.store import Store
from sync.store.tables import AlertRow, ApiUsageRow, DealRow, SyncRunRow
from tests.engine_helpers import engine_for
from tests.memsystem import MemorySystem

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SETTINGS = Settings()


def run(store: Store, stream: str, minutes_ago: float, status: str = "success", **values: object) -> None:
    system, entity = stream.split(".")
    started = NOW - timedelta(minutes=minutes_ago)
    with store.session() as session:
        session.add(SyncRunRow(system=system, entity=entity, status=status, started_at=started,
                               finished_at=started + timedelta(seconds=5), **values))


def fired_then_resolved(store: Store, rule: str, subject: str, clear: Callable[[], None], at: datetime = NOW) -> None:
    """The rule fires once on the current state; after `clear()` it resolves, and both stay in history."""
    [fired] = [a for a in evaluate(store, SETTINGS, at) if a.rule == rule]
    assert (fired.subject, fired.state, fired.fired_at, fired.resolved_at) == (subject, "firing", at, None)
    assert [a.id for a in firing(store)] == [fired.id]
    assert evaluate(store, SETTINGS, at + timedelta(seconds=1)) == []  # still holds: nothing changes
    clear()
    later = at + timedelta(minutes=1)
    [resolved] = evaluate(store, SETTINGS, later)
    assert (resolved.id, resolved.state, resolved.resolved_at) == (fired.id, "resolved", later)
    assert firing(store) == []
    [kept] = history(store, limit=10)
    assert (kept.rule, kept.subject, kept.state, kept.fired_at, kept.resolved_at) == (rule, subject, "resolved",
                                                                                      at, later)


def test_lag(store: Store) -> None:
    run(store, "hubspot.partner", 45)
    fired_then_resolved(store, "lag", "hubspot.partner", lambda: run(store, "hubspot.partner", 0.5))


def test_error_rate(store: Store) -> None:
    run(store, "salesforce.partner", 2, records_in=100, errors={"validation": 6})
    fired_then_resolved(store, "error_rate", "salesforce.partner",
                        lambda: run(store, "salesforce.partner", 1, records_in=100, errors={"validation": 1}))


def test_failing_runs(store: Store) -> None:
    run(store, "odoo.payout", 4)
    for minutes in (3, 2, 1):
        run(store, "odoo.payout", minutes, status="failed", errors={"connector": 1})
    fired_then_resolved(store, "failing_runs", "odoo.payout", lambda: run(store, "odoo.payout", 0.5))


def test_dead_letter(store: Store) -> None:
    run(store, "hubspot.deal", 2)
    record_dead_letter(store, "hubspot", "deal", "sync_stream", "retries exhausted after 10 attempts", NOW)
    fired_then_resolved(store, "dead_letter", "hubspot.deal", lambda: run(store, "hubspot.deal", -0.5))


def test_api_usage(store: Store) -> None:
    def add(used: int) -> None:
        with store.session() as session:
            session.add(ApiUsageRow(system="salesforce", used=used, limit=100_000, window="daily"))

    add(91_000)
    fired_then_resolved(store, "api_usage", "salesforce", lambda: add(1_200))  # the next day's count


def test_registration_sla(store: Store) -> None:
    sla = SETTINGS.program.registration.approval_sla_hours
    with store.session() as session:
        late = DealRow(name="Late one", registered_at=NOW - timedelta(hours=sla + 2))
        session.add_all([late, DealRow(name="Within SLA", registered_at=NOW - timedelta(hours=sla - 1)),
                         DealRow(name="Direct", is_partner_deal=False, registered_at=NOW - timedelta(days=9)),
                         DealRow(name="Approved", registration_status="approved",
                                 registered_at=NOW - timedelta(days=9))])

    def approve() -> None:
        with store.session() as session:
            deal = session.get(DealRow, late.id)
            assert deal is not None
            deal.registration_status, deal.approved_at = "approved", NOW

    fired_then_resolved(store, "registration_sla", late.id, approve)
    assert "'Late one'" in history(store)[0].message and f"{sla} h SLA" in history(store)[0].message


def test_reconciliation(store: Store) -> None:
    diff = Difference("amount", "p1", "partner-1", "100.00", "90.00", "bill B-1")
    with store.session() as session:
        record(session, "2026-04", [], NOW - timedelta(days=30))
        record(session, "2026-05", [diff, diff], NOW - timedelta(hours=1))

    def clean_rerun() -> None:
        with store.session() as session:
            record(session, "2026-05", [], NOW)

    fired_then_resolved(store, "reconciliation", "2026-05", clean_rerun)
    assert "2 differences" in history(store)[0].message and "amount=2" in history(store)[0].message


def test_fire_and_resolve_are_log_events_and_a_return_fires_anew(store: Store) -> None:
    configure("INFO")  # an earlier test in this process may have raised the level (resolves are info)
    run(store, "hubspot.partner", 45)
    with capture_logs() as logs:
        evaluate(store, SETTINGS, NOW)
        run(store, "hubspot.partner", 1)
        evaluate(store, SETTINGS, NOW)
        evaluate(store, SETTINGS, NOW + timedelta(hours=1))  # no run for an hour: lagging again
    assert [(e["event"], e["rule"], e["subject"]) for e in logs] == [
        ("alert fired", "lag", "hubspot.partner"), ("alert resolved", "lag", "hubspot.partner"),
        ("alert fired", "lag", "hubspot.partner")]
    assert logs[0]["log_level"] == "warning" and "45 min old" in logs[0]["message"]
    assert [a.state for a in history(store)] == ["firing", "resolved"]


def test_a_subject_has_at_most_one_firing_alert(store: Store) -> None:
    with store.session() as session:
        session.add(AlertRow(rule="lag", subject="hubspot.deal", message="one", state="resolved"))
        session.add(AlertRow(rule="lag", subject="hubspot.deal", message="two"))
    with pytest.raises(IntegrityError), store.session() as session:
        session.add(AlertRow(rule="lag", subject="hubspot.deal", message="three"))


def test_a_sync_cycle_evaluates_the_alerts(store: Store) -> None:
    sf, hs = MemorySystem("salesforce"), MemorySystem("hubspot")
    for n in range(3):
        sf.add("partner", Name=f"Bad phone {n}", Phone="not a phone")
    sf.add("partner", Name="Fine")
    engine_for(store, sf, hs).cycle()
    assert {(a.rule, a.subject) for a in firing(store)} == {("error_rate", "salesforce.partner")}
    # 3 quarantined of the 5 records the run handled: 4 pulled, and "Fine" pushed back with our id
    assert firing(store)[0].value == 60.0
