"""Quarantine: records that could not be synced, with their raw payload, kept until replayed."""

import json
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.store.tables import SyncErrorRow, now

log = structlog.get_logger("partnersync.quarantine")


def plain(raw: dict[str, Any]) -> dict[str, Any]:
    """The payload as JSON values (a connector may hand over datetimes or decimals): any database stores it."""
    value: dict[str, Any] = json.loads(json.dumps(raw, default=str))
    return value


def put(session: Session, *, system: str, entity: str, category: str, message: str, raw: dict[str, Any],
        external_id: str | None = None, hub_id: str | None = None, field: str | None = None,
        run_id: str | None = None, direction: str = "in") -> SyncErrorRow:
    """Quarantine one record; a record already open for the same reason counts one more attempt."""
    log.warning("record quarantined", external_id=external_id, hub_id=hub_id, category=category, field=field,
                direction=direction, reason=message)
    raw = plain(raw)
    existing = None
    if external_id is not None:
        existing = session.scalars(select(SyncErrorRow).where(
            SyncErrorRow.system == system, SyncErrorRow.entity == entity, SyncErrorRow.external_id == external_id,
            SyncErrorRow.direction == direction, SyncErrorRow.status == "open")).first()
    if existing is not None:
        existing.attempts += 1
        existing.category, existing.message, existing.field = category, message, field
        existing.raw_payload, existing.run_id, existing.last_attempt_at = raw, run_id, now()
        return existing
    row = SyncErrorRow(system=system, entity=entity, category=category, message=message, raw_payload=raw,
                       external_id=external_id, hub_id=hub_id, field=field, run_id=run_id, direction=direction)
    session.add(row)
    return row


def resolve(session: Session, system: str, entity: str, external_ids: list[str], direction: str = "in") -> None:
    """Close open quarantine rows of records that have now synced."""
    if not external_ids:
        return
    for row in session.scalars(select(SyncErrorRow).where(
            SyncErrorRow.system == system, SyncErrorRow.entity == entity, SyncErrorRow.direction == direction,
            SyncErrorRow.status == "open", SyncErrorRow.external_id.in_(external_ids))):
        row.status = "resolved"


def listing(session: Session, status: str | None = "open", limit: int = 200) -> list[SyncErrorRow]:
    query = select(SyncErrorRow).order_by(SyncErrorRow.id.desc()).limit(limit)
    if status:
        query = query.where(SyncErrorRow.status == status)
    return list(session.scalars(query))
