"""Alert rules over the hub's health: each rule, per subject (a stream, a system, a deal, a period), is
either firing or resolved. `evaluate` turns changes of state into `alerts` rows, kept as history, and
log events; docs/runbook.md has what to do for each rule.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from config import Settings
from sync import health
from sync.store import Store
from sync.store.tables import AlertRow, DealRow, ReconcileRunRow, now

log = structlog.get_logger("partnersync.alerts")
FIRING, RESOLVED = "firing", "resolved"
RULES = ("lag", "error_rate", "failing_runs", "dead_letter", "api_usage", "registration_sla", "reconciliation")


@dataclass(frozen=True)
class Condition:
    """A rule that holds now for one subject."""

    rule: str
    subject: str
    message: str
    value: float | None = None


@dataclass(frozen=True)
class Alert:
    id: int
    rule: str
    subject: str
    state: str
    message: str
    value: float | None
    fired_at: datetime
    resolved_at: datetime | None


def evaluate(store: Store, settings: Settings, at: datetime | None = None) -> list[Alert]:
    """Fire what newly holds, resolve what no longer does; returns those changes (an alert that still holds
    only gets its message and value brought up to date). Safe to run from several processes at once."""
    at = at or now()
    held = {(c.rule, c.subject): c for c in conditions(store, settings, at)}
    try:
        changes = _apply(store, held, at)
    except IntegrityError:  # another process fired the same alert in between: start again from its result
        changes = _apply(store, held, at)
    for alert in changes:
        event = "alert fired" if alert.state == FIRING else "alert resolved"
        (log.warning if alert.state == FIRING else log.info)(
            event, rule=alert.rule, subject=alert.subject, message=alert.message, value=alert.value,
            fired_at=alert.fired_at.isoformat(), alert_id=alert.id)
    return changes


def _apply(store: Store, held: dict[tuple[str, str], Condition], at: datetime) -> list[Alert]:
    changed: list[AlertRow] = []
    with store.session() as session:
        open_rows = {(r.rule, r.subject): r for r in session.scalars(select(AlertRow).where(AlertRow.state == FIRING))}
        for key, row in open_rows.items():
            if key not in held:
                row.state, row.resolved_at = RESOLVED, at
                changed.append(row)
            elif row.message != held[key].message:
                row.message, row.value = held[key].message, held[key].value
        for key, cond in held.items():
            if key not in open_rows:
                row = AlertRow(rule=cond.rule, subject=cond.subject, state=FIRING, message=cond.message,
                               value=cond.value, fired_at=at)
                session.add(row)
                changed.append(row)
        session.flush()
        return [_alert(row) for row in changed]


def firing(store: Store) -> list[Alert]:
    """Alerts firing now, oldest first."""
    with store.session() as session:
        rows = session.scalars(select(AlertRow).where(AlertRow.state == FIRING)
                               .order_by(AlertRow.fired_at, AlertRow.id))
        return [_alert(row) for row in rows]


def counts(store: Store) -> dict[str, int]:
    """Alerts firing now per rule, every rule present (zero when quiet)."""
    with store.session() as session:
        found = dict(session.execute(select(AlertRow.rule, func.count()).where(AlertRow.state == FIRING)
                                     .group_by(AlertRow.rule)).tuples().all())
    return {rule: found.get(rule, 0) for rule in RULES} | found


def history(store: Store, limit: int = 100) -> list[Alert]:
    """The newest `limit` alerts, firing or resolved, newest first."""
    with store.session() as session:
        rows = session.scalars(select(AlertRow).order_by(AlertRow.fired_at.desc(), AlertRow.id.desc()).limit(limit))
        return [_alert(row) for row in rows]


def _alert(row: AlertRow) -> Alert:
    return Alert(row.id, row.rule, row.subject, row.state, row.message, row.value, row.fired_at, row.resolved_at)


def conditions(store: Store, settings: Settings, at: datetime) -> list[Condition]:
    """Every rule that holds at `at`."""
    streams = health.streams(store, settings, at)
    found = [c for s in streams for c in _stream(s, settings)]
    with store.session() as session:
        usage = health.api_usage(session)
    found += [c for api in usage.values() if (c := _api(api, settings)) is not None]
    found += list(_registration_sla(store, settings, at))
    found += list(_reconciliation(store))
    return found


def _stream(s: health.StreamStatus, settings: Settings) -> Iterator[Condition]:
    rules, subject = settings.alerts, f"{s.system}.{s.entity}"
    if s.lag_seconds is not None and s.lag_seconds > rules.lag_minutes * 60:
        yield Condition("lag", subject, f"{subject}: newest synced change is {s.lag_seconds // 60} min old "
                                        f"(threshold {rules.lag_minutes} min)", s.lag_seconds)
    if s.error_rate_percent is not None and s.error_rate_percent > rules.error_rate_percent:
        errors = ", ".join(f"{k}={v}" for k, v in sorted(s.errors.items()))
        yield Condition("error_rate", subject, f"{subject}: {s.error_rate_percent}% of the last run's records "
                                               f"failed ({errors}; threshold {rules.error_rate_percent}%)",
                        s.error_rate_percent)
    if s.failing_runs >= rules.failing_runs:
        yield Condition("failing_runs", subject, f"{subject}: {s.failing_runs} runs failed in a row "
                                                 f"(threshold {rules.failing_runs})", s.failing_runs)
    if s.dead_letters:
        yield Condition("dead_letter", subject, f"{subject}: {s.dead_letters} worker messages ran out of retries "
                                                f"since the last successful run", s.dead_letters)


def _api(api: health.ApiStatus, settings: Settings) -> Condition | None:
    percent, threshold = api.percent, settings.alerts.api_usage_percent
    if percent is None or percent < threshold:
        return None
    return Condition("api_usage", api.system, f"{api.system}: {api.used} of {api.limit} API calls used "
                                              f"({percent}%, {api.window}; threshold {threshold}%)", percent)


def _registration_sla(store: Store, settings: Settings, at: datetime) -> Iterator[Condition]:
    """Partner deals still `submitted` past the program's approval SLA (from registration, else creation)."""
    hours = settings.program.registration.approval_sla_hours
    registered = func.coalesce(DealRow.registered_at, DealRow.created_at)
    with store.session() as session:
        rows = session.execute(
            select(DealRow.id, DealRow.name, DealRow.registered_at, DealRow.created_at)
            .where(DealRow.is_partner_deal.is_(True), DealRow.registration_status == "submitted",
                   DealRow.deleted_at.is_(None), registered <= at - timedelta(hours=hours),
                   or_(DealRow.expires_at.is_(None), DealRow.expires_at > at))
            .order_by(registered)).all()
    for deal_id, name, registered_at, created_at in rows:
        since = registered_at or created_at
        yield Condition("registration_sla", deal_id,
                        f"deal {name!r} ({deal_id}) registered {since:%Y-%m-%d %H:%M} UTC is still awaiting "
                        f"approval past the {hours} h SLA", round((at - since).total_seconds() / 3600, 1))


def _reconciliation(store: Store) -> Iterator[Condition]:
    """Periods whose latest `partnersync reconcile` found differences (a clean re-run resolves them)."""
    latest = select(func.max(ReconcileRunRow.id)).group_by(ReconcileRunRow.period)
    with store.session() as session:
        runs = list(session.scalars(select(ReconcileRunRow).where(ReconcileRunRow.id.in_(latest),
                                                                  ReconcileRunRow.differences > 0)
                                    .order_by(ReconcileRunRow.period)))
    for run in runs:
        kinds = ", ".join(f"{k}={v}" for k, v in sorted(run.kinds.items()))
        yield Condition("reconciliation", run.period, f"{run.period}: {run.differences} differences between hub "
                                                      f"payouts and ERP bills ({kinds}) at "
                                                      f"{run.ran_at:%Y-%m-%d %H:%M} UTC", run.differences)
