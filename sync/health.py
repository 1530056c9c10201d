"""Sync health read from the hub: per system x entity, the state of each stream, and why.

Everything comes from what the engine and the worker record (`sync_runs`, `sync_errors`, `outbox`,
`api_usage`), so the CLI, the dashboard, /metrics and the alert rules all tell the same story.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from config import Settings
from config.settings import AlertSettings
from sync.store import Store
from sync.store.tables import ApiUsageRow, OutboxRow, SyncErrorRow, SyncRunRow, now

GREEN, AMBER, RED = "green", "amber", "red"
FAILED = ("failed", "dead_letter")
# A run failing before it touched a record is the failing-runs rule's business, not the error rate's.
RUN_LEVEL = ("connector",)
RECENT_RUNS = 50


@dataclass
class ApiStatus:
    """The platform's latest own report of API calls used against its limit, per system."""

    system: str
    used: int | None = None
    limit: int | None = None
    window: str | None = None
    recorded_at: datetime | None = None

    @property
    def percent(self) -> float | None:
        if self.used is None or not self.limit:
            return None
        return round(100.0 * self.used / self.limit, 1)

    @property
    def remaining(self) -> int | None:
        return None if self.used is None or self.limit is None else max(self.limit - self.used, 0)


@dataclass
class StreamStatus:
    """One system x entity. Counts are of the latest run; `state` is green, amber or red with `reasons`."""

    system: str
    entity: str
    state: str = GREEN
    reasons: list[str] = field(default_factory=list)
    last_status: str | None = None
    last_run_at: datetime | None = None
    last_success_at: datetime | None = None
    lag_seconds: int | None = None
    records_in: int = 0
    records_out: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    error_rate_percent: float | None = None
    failing_runs: int = 0
    duration_ms: int | None = None
    api_calls: int = 0
    quarantined: int = 0
    outbox_backlog: int = 0
    dead_letters: int = 0
    api_used: int | None = None
    api_limit: int | None = None
    api_percent: float | None = None


def streams(store: Store, settings: Settings | None = None, at: datetime | None = None) -> list[StreamStatus]:
    """One status per stream that has ever run, has quarantined records or has outbox rows, sorted."""
    alerts = (settings or Settings()).alerts
    at = at or now()
    with store.session() as session:
        found = _runs(session, at)
        for system, entity, count in _count(session, SyncErrorRow, SyncErrorRow.status == "open"):
            found.setdefault((system, entity), StreamStatus(system, entity)).quarantined = count
        for system, entity, count in _count(session, OutboxRow, OutboxRow.status == "pending"):
            found.setdefault((system, entity), StreamStatus(system, entity)).outbox_backlog = count
        usage = api_usage(session)
    for status in found.values():
        api = usage.get(status.system)
        if api is not None:
            status.api_used, status.api_limit, status.api_percent = api.used, api.limit, api.percent
        status.state, status.reasons = judge(status, alerts)
    return sorted(found.values(), key=lambda st: (st.system, st.entity))


def judge(status: StreamStatus, alerts: AlertSettings) -> tuple[str, list[str]]:
    """Red when data stopped flowing (lag, failing in a row, dead letters); amber when it flows with trouble."""
    red, amber = [], []
    if status.lag_seconds is not None and status.lag_seconds > alerts.lag_minutes * 60:
        red.append(f"lag {status.lag_seconds // 60} min over {alerts.lag_minutes} min")
    if status.last_success_at is None and status.last_status in FAILED:
        red.append("never succeeded")
    if status.failing_runs >= alerts.failing_runs:
        red.append(f"{status.failing_runs} runs failed in a row")
    elif status.failing_runs:
        amber.append(f"last run {status.last_status}")
    if status.dead_letters:
        red.append(f"{status.dead_letters} dead letters since the last success")
    if status.last_status == "rate_limited":
        amber.append("last run stopped at a rate limit")
    if status.error_rate_percent is not None and status.error_rate_percent > alerts.error_rate_percent:
        amber.append(f"error rate {status.error_rate_percent}% over {alerts.error_rate_percent}%")
    if status.api_percent is not None and status.api_percent >= alerts.api_usage_percent:
        amber.append(f"API usage {status.api_percent}% of the limit")
    if status.quarantined:
        amber.append(f"{status.quarantined} quarantined")
    return (RED if red else AMBER if amber else GREEN), red + amber


def api_usage(session: Session) -> dict[str, ApiStatus]:
    """Per system, the newest usage row that carries the platform's numbers (else just the newest row)."""
    found: dict[str, ApiStatus] = {}
    for only_reported in (True, False):
        query = select(func.max(ApiUsageRow.id)).group_by(ApiUsageRow.system)
        if only_reported:
            query = query.where(ApiUsageRow.limit.is_not(None))
        for row in session.scalars(select(ApiUsageRow).where(ApiUsageRow.id.in_(query))):
            found.setdefault(row.system, ApiStatus(row.system, row.used, row.limit, row.window, row.recorded_at))
    return found


def _count(session: Session, table: type[SyncErrorRow] | type[OutboxRow],
           where: ColumnElement[bool]) -> Iterable[tuple[str, str, int]]:
    rows = session.execute(select(table.system, table.entity, func.count()).where(where)
                           .group_by(table.system, table.entity))
    return [(system, entity, int(count)) for system, entity, count in rows]


def _runs(session: Session, at: datetime) -> dict[tuple[str, str], StreamStatus]:
    """Per stream, from its recent runs (newest first): the latest, the failing streak, dead letters, lag."""
    found: dict[tuple[str, str], StreamStatus] = {}
    pairs = session.execute(select(SyncRunRow.system, SyncRunRow.entity).distinct())
    for system, entity in pairs:
        runs = list(session.scalars(
            select(SyncRunRow).where(SyncRunRow.system == system, SyncRunRow.entity == entity)
            .order_by(SyncRunRow.started_at.desc(), SyncRunRow.id).limit(RECENT_RUNS)))
        found[(system, entity)] = _stream(system, entity, runs, _last_success(session, system, entity), at)
    return found


def _last_success(session: Session, system: str, entity: str) -> SyncRunRow | None:
    return session.scalars(
        select(SyncRunRow).where(SyncRunRow.system == system, SyncRunRow.entity == entity,
                                 SyncRunRow.status == "success")
        .order_by(SyncRunRow.started_at.desc()).limit(1)).first()


def _stream(system: str, entity: str, runs: list[SyncRunRow], success: SyncRunRow | None,
            at: datetime) -> StreamStatus:
    status = StreamStatus(system, entity)
    worked = [r for r in runs if r.status != "dead_letter"]
    latest = worked[0] if worked else runs[0]
    status.last_status, status.last_run_at = runs[0].status, runs[0].finished_at or runs[0].started_at
    status.records_in, status.records_out = latest.records_in, latest.records_out
    status.errors = {k: int(v) for k, v in (latest.errors or {}).items() if int(v)}
    status.duration_ms, status.api_calls = latest.duration_ms, latest.api_calls
    record_errors = sum(v for k, v in status.errors.items() if k not in RUN_LEVEL)
    handled = max(latest.records_in + latest.records_out, record_errors)
    status.error_rate_percent = round(100.0 * record_errors / handled, 1) if handled else None
    for run in runs:
        if run.status not in FAILED:
            break
        status.failing_runs += 1
    since = success.started_at if success else None
    status.dead_letters = sum(1 for r in runs if r.status == "dead_letter" and (since is None or r.started_at > since))
    if success is not None:
        status.last_success_at = success.finished_at
        status.lag_seconds = max(int((at - synced_through(runs, success)).total_seconds()), 0)
    return status


def synced_through(runs: list[SyncRunRow], success: SyncRunRow) -> datetime:
    """The hub holds every change made before the last caught-up run started, and any newer change a later
    run brought in: lag is measured from the later of the two."""
    newer = [r.newest_change_at for r in runs if r.newest_change_at is not None and r.started_at > success.started_at]
    return max([success.started_at, *newer])


def record_dead_letter(store: Store, system: str, entity: str, actor: str, message: str,
                       at: datetime | None = None) -> None:
    """A worker message that ran out of retries, as a `dead_letter` run of its stream."""
    at = at or now()
    with store.session() as session:
        session.add(SyncRunRow(system=system, entity=entity, mode=actor, status="dead_letter", started_at=at,
                               finished_at=at, message=message))
