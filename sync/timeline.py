"""Per-stream history read from `sync_runs`: lag and error rate as they stood after each run, for charts.

Both follow `sync.health`'s definitions, so the chart's last point is what the streams table says:
lag counts from the start of the last caught-up run (or a newer change a later run brought in), and the
error rate leaves out run-level failures (those are the failing-runs rule's business).
"""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from sync.health import error_rate
from sync.store import Store
from sync.store.tables import SyncRunRow

MAX_POINTS = 200


@dataclass(frozen=True)
class Point:
    at: datetime
    lag_seconds: int | None  # None until the stream had a caught-up run
    error_rate: float  # percent of the records the run handled


@dataclass
class StreamSeries:
    system: str
    entity: str
    points: list[Point] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.system} {self.entity}"


def series(store: Store, since: datetime, max_points: int = MAX_POINTS) -> list[StreamSeries]:
    """One series per stream with a finished run since `since` (its newest `max_points` runs, oldest first).
    Dead-letter rows are markers, not runs, and are left out."""
    found: dict[tuple[str, str], StreamSeries] = {}
    worked = SyncRunRow.status != "dead_letter"
    with store.session() as session:
        through: dict[tuple[str, str], datetime] = {
            (system, entity): at for system, entity, at in session.execute(
                select(SyncRunRow.system, SyncRunRow.entity, func.max(SyncRunRow.started_at))
                .where(SyncRunRow.status == "success", SyncRunRow.finished_at < since)
                .group_by(SyncRunRow.system, SyncRunRow.entity))}
        runs = session.execute(
            select(SyncRunRow.system, SyncRunRow.entity, SyncRunRow.status, SyncRunRow.started_at,
                   SyncRunRow.finished_at, SyncRunRow.newest_change_at, SyncRunRow.errors, SyncRunRow.records_in,
                   SyncRunRow.records_out)
            .where(SyncRunRow.finished_at >= since, worked).order_by(SyncRunRow.finished_at))
        for system, entity, status, started, finished, newest, errors, records_in, records_out in runs:
            key = (system, entity)
            if status == "success":
                through[key] = max(through.get(key, started), started)
            elif newest is not None and key in through:
                through[key] = max(through[key], newest)
            lag = int((finished - through[key]).total_seconds()) if key in through else None
            stream = found.setdefault(key, StreamSeries(system, entity))
            stream.points.append(Point(finished, None if lag is None else max(lag, 0),
                                       error_rate(errors or {}, records_in, records_out) or 0.0))
    for stream in found.values():
        del stream.points[:-max_points]
    return sorted(found.values(), key=lambda s: (s.system, s.entity))
