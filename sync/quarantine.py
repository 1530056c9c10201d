"""Quarantine: records that failed (mapping, validation, references, remote rejection), kept whole.

Every row holds the raw payload as the system sent it, so `errors retry` replays it through the
current config and mapping; a later success marks it resolved.
"""

import json
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from mapping.base import FieldMap
from sync.store import Store
from sync.store.tables import SyncErrorRow, now


def plain(raw: Any) -> Any:
    """The payload as JSON values (datetimes and decimals as text) so any database stores it."""
    return json.loads(json.dumps(raw, default=str))


def add(session: Session, *, system: str, entity: str, raw: Any, category: str, message: str,
        field: str | None = None, external_id: str | None = None, hub_id: str | None = None,
        run_id: str | None = None, direction: str = "in") -> SyncErrorRow:
    """Quarantine one record; a record already open for the same stream and id is updated instead."""
    existing = None
    if external_id is not None or hub_id is not None:
        key = (SyncErrorRow.external_id == external_id) if external_id is not None else (SyncErrorRow.hub_id == hub_id)
        existing = session.scalar(select(SyncErrorRow).where(
            SyncErrorRow.system == system, SyncErrorRow.entity == entity, SyncErrorRow.direction == direction,
            SyncErrorRow.status == "open", key))
    row = existing or SyncErrorRow(system=system, entity=entity, direction=direction, attempts=0)
    row.raw_payload, row.category, row.field, row.message = plain(raw), category, field, message
    row.external_id, row.hub_id, row.run_id = external_id, hub_id, run_id
    row.attempts, row.last_attempt_at = (row.attempts or 0) + 1, now()
    if existing is None:
        session.add(row)
    return row


def validation_errors(fmap: FieldMap[Any], exc: ValidationError) -> list[tuple[str, str]]:
    """(system field, reason) per problem, naming the field as the system calls it."""
    problems = []
    for error in exc.errors():
        loc = [str(p) for p in error.get("loc", ())]
        unified = loc[0] if loc else "record"
        problems.append((fmap.system_field(unified), f"{'.'.join(loc) or 'record'}: {error.get('msg')}"))
    return problems


def resolve(session: Session, system: str, entity: str, external_ids: Sequence[str]) -> None:
    """Close open inbound errors of records that now synced."""
    if not external_ids:
        return
    for row in session.scalars(select(SyncErrorRow).where(
            SyncErrorRow.system == system, SyncErrorRow.entity == entity, SyncErrorRow.direction == "in",
            SyncErrorRow.status == "open", SyncErrorRow.external_id.in_(list(external_ids)))):
        row.status = "resolved"


def listing(store: Store, *, include_resolved: bool = False) -> list[SyncErrorRow]:
    """Quarantined records, newest first (open ones only unless `include_resolved`)."""
    with store.session() as session:
        query = select(SyncErrorRow).order_by(SyncErrorRow.id.desc())
        if not include_resolved:
            query = query.where(SyncErrorRow.status == "open")
        return list(session.scalars(query))
