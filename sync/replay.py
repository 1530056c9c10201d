"""Edit-and-replay of quarantined records: re-run them through today's config and mapping."""

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update

from config import Settings
from connectors.base import Cursor, Page
from sync.context import RuleContext
from sync.outbox import enqueue
from sync.pull import apply_page
from sync.rules import run_rules
from sync.store import Store
from sync.store.tables import OutboxRow, SyncErrorRow, now
from sync.systems import System


@dataclass
class ReplayReport:
    fixed: list[int] = field(default_factory=list)
    failing: list[int] = field(default_factory=list)
    requeued: list[int] = field(default_factory=list)


def edit(store: Store, error_id: int, payload: dict[str, Any]) -> None:
    """Replace a quarantined record's payload (the next retry uses it)."""
    with store.session() as session:
        row = session.get(SyncErrorRow, error_id)
        if row is None:
            raise LookupError(f"no quarantined record {error_id}")
        row.raw_payload = payload


def retry(store: Store, settings: Settings, systems: dict[str, System], ids: list[int] | None) -> ReplayReport:
    """Replay open records (all when `ids` is None): inbound ones through the pull path, outbound ones
    by queueing their hub record for the system again."""
    report = ReplayReport()
    with store.session() as session:
        query = select(SyncErrorRow.id).where(SyncErrorRow.status == "open").order_by(SyncErrorRow.id)
        if ids is not None:
            query = query.where(SyncErrorRow.id.in_(ids))
        todo = list(session.scalars(query))
    for error_id in todo:
        with store.session() as session:
            row = session.get(SyncErrorRow, error_id)
            assert row is not None
            system = systems.get(row.system)
            if row.direction == "out" or system is None or row.entity not in system.maps:
                _requeue(session, row)
                report.requeued.append(error_id)
                continue
            row.last_attempt_at = now()
            page = Page([dict(row.raw_payload)], [], Cursor())
            result = apply_page(session, settings, system, row.entity, page, systems, row.run_id)
            run_rules(RuleContext(session, settings, row.run_id, row.system), row.entity, result.changed)
            session.flush()
            session.refresh(row)
            (report.failing if row.status == "open" else report.fixed).append(error_id)
    return report


def _requeue(session: Any, row: SyncErrorRow) -> None:
    """An outbound failure: put its outbox rows (or a fresh one) back in the queue."""
    row.attempts += 1
    row.last_attempt_at = now()
    if row.hub_id is None:
        return
    failed = session.execute(update(OutboxRow).where(
        OutboxRow.system == row.system, OutboxRow.entity == row.entity, OutboxRow.hub_id == row.hub_id,
        OutboxRow.status == "failed").values(status="pending"))
    if not failed.rowcount:
        enqueue(session, entity=row.entity, hub_id=row.hub_id, systems=[row.system], payload={"reason": "retry"})
