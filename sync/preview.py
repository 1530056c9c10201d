"""Dry run: what a page would change in each system, field by field, computed before it is rolled back."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from config import Settings
from sync import links, records
from sync.fieldrules import pushable
from sync.store.tables import OutboxRow
from sync.systems import System


@dataclass(frozen=True)
class Planned:
    system: str
    entity: str
    hub_id: str
    action: str  # create | update | archive
    changes: dict[str, tuple[Any, Any]]


def planned(session: Session, settings: Settings, systems: dict[str, System], run_id: str) -> list[Planned]:
    """The pushes this run queued in its (uncommitted) session, as creates/updates/archives with field diffs."""
    session.flush()
    plans = []
    for row in session.scalars(select(OutboxRow).where(OutboxRow.run_id == run_id, OutboxRow.status == "pending")):
        system = systems.get(row.system)
        if system is None or row.entity not in system.maps:
            continue
        link = links.by_hub(session, row.entity, row.system, [row.hub_id]).get(row.hub_id)
        if row.operation == "archive":
            plans.append(Planned(row.system, row.entity, row.hub_id, "archive", {}))
            continue
        hub = records.values(session, row.entity, [row.hub_id], settings.program.currency).get(row.hub_id, {})
        writable = {f.unified for f in system.maps[row.entity].fields if not f.read_only}
        wanted = {k: v for k, v in pushable(settings.program, row.entity, row.system, hub).items() if k in writable}
        before = (link.last_synced_snapshot or {}) if link is not None else {}
        changes = {k: (before.get(k), v) for k, v in wanted.items() if before.get(k) != v}
        if link is not None and not changes:
            changes = {"partnersync_id": (None, row.hub_id)}  # a record new to the hub gets our id written
        plans.append(Planned(row.system, row.entity, row.hub_id, "create" if link is None else "update", changes))
    return plans
