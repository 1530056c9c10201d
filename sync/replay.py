"""`errors retry`: replay quarantined records through the current config and mapping.

Inbound records go through the same page path as a pull (so a fixed mapping or an edited payload
lands like any change); outbound ones are queued again and pushed.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from sync import outbox
from sync.engine import Engine, StreamReport
from sync.pull import PageApplier
from sync.store.tables import SyncErrorRow


class ReplayError(ValueError):
    """A quarantined record that cannot be replayed as asked (unknown id, stream not configured)."""


@dataclass
class Replayed:
    resolved: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)


def open_errors(engine: Engine, ids: Sequence[int] | None) -> list[SyncErrorRow]:
    with engine.store.session() as session:
        query = select(SyncErrorRow).where(SyncErrorRow.status == "open").order_by(SyncErrorRow.id)
        if ids is not None:
            query = query.where(SyncErrorRow.id.in_(list(ids)))
        rows = list(session.scalars(query))
    missing = set(ids or ()) - {r.id for r in rows}
    if missing:
        raise ReplayError(f"no open quarantined record with id {', '.join(map(str, sorted(missing)))}")
    return rows


def edit(engine: Engine, error_id: int, payload: dict[str, Any]) -> None:
    """Replace the raw payload of one quarantined record (replay it with `retry`)."""
    with engine.store.session() as session:
        row = session.get(SyncErrorRow, error_id)
        if row is None:
            raise ReplayError(f"no quarantined record with id {error_id}")
        row.raw_payload = payload


def retry(engine: Engine, ids: Sequence[int] | None) -> Replayed:
    """Replay open errors (all when `ids` is None); a record that fails again stays open."""
    done = Replayed()
    streams = {(s.system, s.entity): s for s in engine.streams}
    touched = set()
    for row in open_errors(engine, ids):
        stream = streams.get((row.system, row.entity))
        if stream is None:
            done.failed[row.id] = f"{row.system} {row.entity} is not configured"
            continue
        touched.add((row.system, row.entity))
        with engine.store.session() as session:
            error = session.get(SyncErrorRow, row.id)
            assert error is not None
            if row.direction == "out":
                if row.hub_id:
                    outbox.enqueue(session, entity=row.entity, hub_id=row.hub_id, systems=[row.system], payload={})
                error.status = "resolved"
                continue
            targets = [t for t in engine.targets(row.entity) if t != row.system]
            applier = PageApplier(session, engine.settings, stream.fmap, targets, None)
            applier.apply(error.raw_payload)
            if applier.result.errors:
                done.failed[row.id] = error.message
            else:
                error.status = "resolved"
        if row.id not in done.failed:
            done.resolved.append(row.id)
    entities = {entity for _, entity in touched}
    for stream in engine.streams:
        if stream.entity in entities:
            engine.push(stream, StreamReport(stream.system, stream.entity))
    return done
