"""Sync health read from the hub: per system x entity, the state of each stream, and why.

Everything comes from what the engine and the worker record (`sync_runs`, `sync_errors`, `outbox`,
`api_usage`), so the CLI, the dashboard, /metrics and the alert rules all tell the same story.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

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
    alerts = settings.alerts if settings is not None else AlertSettings()
    at = at or now()
    with store.session() as session:
        found = _runs(session, at)
        for system, entity, count in session.execute(
                select(SyncErrorRow.system, SyncErrorRow.entity, func.count()).where(SyncErrorRow.status == "open")
                .group_by(SyncErrorRow.system, SyncErrorRow.entity)):
            found.setdefault((system, entity), StreamStatus(system, entity)).quarantined = count
        for (system, entity), count in _backlog(session).items():
            found.setdefault((system, entity), StreamStatus(system, entity)).outbox_backlog = count
        usage = api_usage(session, {system for system, _ in found})
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


def api_usage(session: Session, systems: Iterable[str] | None = None) -> dict[str, ApiStatus]:
    """Per system (default: every system that reported), the newest usage report carrying the platform's
    numbers, else the newest report. Index seeks per system: the table grows by a row per run."""
    found: dict[str, ApiStatus] = {}
    for system in sorted(set(systems) if systems is not None else {s for s, in _distinct(session, ApiUsageRow.system)}):
        newest = select(ApiUsageRow).where(ApiUsageRow.system == system).order_by(
            ApiUsageRow.recorded_at.desc(), ApiUsageRow.id.desc()).limit(1)
        row = (session.scalars(newest.where(ApiUsageRow.limit.is_not(None))).first()
               or session.scalars(newest).first())
        if row is not None:
            found[system] = ApiStatus(system, row.used, row.limit, row.window, row.recorded_at)
    return found


def stream_keys(session: Session) -> list[tuple[str, str]]:
    """Every (system, entity) that ever ran."""
    return [(system, entity) for system, entity in _distinct(session, SyncRunRow.system, SyncRunRow.entity)]


def _distinct(session: Session, *columns: InstrumentedAttribute[str]) -> list[tuple[str, ...]]:
    """Distinct values of an index's leading columns by seeking through the index (the next value after the
    last one: same prefix and a greater next column, deepest first), where SELECT DISTINCT reads every row.
    Plain equalities and one `>` per query: both SQLite and PostgreSQL seek on those."""
    found: list[tuple[str, ...]] = []
    first = select(*columns).order_by(*columns).limit(1)
    while True:
        queries = [first] if not found else [
            first.where(*(c == v for c, v in zip(columns[:depth], found[-1], strict=False)),
                        columns[depth] > found[-1][depth]) for depth in reversed(range(len(columns)))]
        row = next((r for q in queries if (r := session.execute(q).first()) is not None), None)
        if row is None:
            return found
        found.append(tuple(row))


def _backlog(session: Session) -> dict[tuple[str, str], int]:
    """Pending outbox rows per stream; sent rows stay in the table, so count by index range per stream."""
    found = {}
    for system, entity in _distinct(session, OutboxRow.system, OutboxRow.entity):
        count = session.scalar(select(func.count()).where(OutboxRow.system == system, OutboxRow.entity == entity,
                                                          OutboxRow.status == "pending"))
        if count:
            found[(system, entity)] = int(count)
    return found


def _runs(session: Session, at: datetime) -> dict[tuple[str, str], StreamStatus]:
    """Per stream, from its recent runs (newest first): the latest, the failing streak, dead letters, lag."""
    found: dict[tuple[str, str], StreamStatus] = {}
    for system, entity in stream_keys(session):
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
    status.error_rate_percent = error_rate(status.errors, latest.records_in, latest.records_out)
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


def error_rate(errors: dict[str, int], records_in: int, records_out: int) -> float | None:
    """Record errors as a percent of the records a run handled (run-level errors are not records)."""
    failed = sum(int(n) for kind, n in errors.items() if kind not in RUN_LEVEL)
    handled = max(records_in + records_out, failed)
    return round(100.0 * failed / handled, 1) if handled else None


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
