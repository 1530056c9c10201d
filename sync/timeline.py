"""Per-stream history read from `sync_runs`: lag and error rate of each run, for charts over time."""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from sync.store import Store
from sync.store.tables import SyncRunRow

MAX_POINTS = 200


@dataclass(frozen=True)
class Point:
    at: datetime
    lag_seconds: int
    error_rate: float  # percent of the records the run handled


@dataclass
class StreamSeries:
    system: str
    entity: str
    points: list[Point] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.system} {self.entity}"


def error_rate(errors: dict[str, int], records_in: int, records_out: int) -> float:
    """Errors as a percent of the records a run handled; a run that failed before handling any is 100%."""
    failed = sum(int(n) for n in errors.values())
    handled = records_in + records_out
    if not failed:
        return 0.0
    return 100.0 if handled == 0 else min(100.0, 100.0 * failed / handled)


def series(store: Store, since: datetime, max_points: int = MAX_POINTS) -> list[StreamSeries]:
    """One series per stream with a finished run since `since` (its newest `max_points` runs, oldest first).

    Dead-letter rows are markers, not runs, and are left out."""
    found: dict[tuple[str, str], StreamSeries] = {}
    query = (select(SyncRunRow.system, SyncRunRow.entity, SyncRunRow.finished_at, SyncRunRow.lag_seconds,
                    SyncRunRow.errors, SyncRunRow.records_in, SyncRunRow.records_out)
             .where(SyncRunRow.finished_at >= since, SyncRunRow.status != "dead_letter")
             .order_by(SyncRunRow.finished_at))
    with store.session() as session:
        for system, entity, at, lag, errors, records_in, records_out in session.execute(query):
            stream = found.setdefault((system, entity), StreamSeries(system, entity))
            stream.points.append(Point(at, lag or 0, error_rate(errors or {}, records_in, records_out)))
    for stream in found.values():
        del stream.points[:-max_points]
    return sorted(found.values(), key=lambda s: (s.system, s.entity))
