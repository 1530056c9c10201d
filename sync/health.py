"""Sync health read from the hub: per system x entity, the state of each stream."""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from sync.store import Store
from sync.store.tables import OutboxRow, SyncErrorRow, SyncRunRow, now


@dataclass
class StreamStatus:
    system: str
    entity: str
    last_status: str | None = None
    last_success_at: datetime | None = None
    lag_seconds: int | None = None
    records_in: int = 0
    records_out: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    quarantined: int = 0
    outbox_backlog: int = 0


def streams(store: Store) -> list[StreamStatus]:
    """One status per stream that has ever run, has quarantined records or has outbox rows."""
    found: dict[tuple[str, str], StreamStatus] = {}

    def get(system: str, entity: str) -> StreamStatus:
        return found.setdefault((system, entity), StreamStatus(system, entity))

    with store.session() as s:
        latest = (
            select(SyncRunRow.system, SyncRunRow.entity, func.max(SyncRunRow.started_at).label("at"))
            .group_by(SyncRunRow.system, SyncRunRow.entity)
            .subquery()
        )
        runs = s.scalars(
            select(SyncRunRow).join(
                latest,
                (SyncRunRow.system == latest.c.system)
                & (SyncRunRow.entity == latest.c.entity)
                & (SyncRunRow.started_at == latest.c.at),
            )
        )
        for run in runs:
            status = get(run.system, run.entity)
            status.last_status = run.status
            status.records_in, status.records_out = run.records_in, run.records_out
            status.errors = {k: int(v) for k, v in (run.errors or {}).items()}
            status.lag_seconds = run.lag_seconds
        ok = s.execute(
            select(SyncRunRow.system, SyncRunRow.entity, func.max(SyncRunRow.finished_at))
            .where(SyncRunRow.status == "success")
            .group_by(SyncRunRow.system, SyncRunRow.entity)
        )
        for system, entity, at in ok:
            get(system, entity).last_success_at = at
        quarantined = s.execute(
            select(SyncErrorRow.system, SyncErrorRow.entity, func.count())
            .where(SyncErrorRow.status == "open")
            .group_by(SyncErrorRow.system, SyncErrorRow.entity)
        )
        for system, entity, count in quarantined:
            get(system, entity).quarantined = count
        backlog = s.execute(
            select(OutboxRow.system, OutboxRow.entity, func.count())
            .where(OutboxRow.status == "pending")
            .group_by(OutboxRow.system, OutboxRow.entity)
        )
        for system, entity, count in backlog:
            get(system, entity).outbox_backlog = count
    return sorted(found.values(), key=lambda st: (st.system, st.entity))


def record_dead_letter(store: Store, system: str, entity: str, actor: str, message: str) -> None:
    """A worker message that ran out of retries, as a `dead_letter` run of its stream."""
    at = now()
    with store.session() as session:
        session.add(SyncRunRow(system=system, entity=entity, mode=actor, status="dead_letter", started_at=at,
                               finished_at=at, message=message))
