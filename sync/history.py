"""Field-level lineage from `change_log`: who changed which field, from where, when, under which rule."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from sync.store import Store
from sync.store.tables import ChangeLogRow, ExternalLinkRow


@dataclass
class Change:
    changed_at: datetime
    field: str
    old: str | None
    new: str | None
    source: str
    source_modified_at: datetime | None
    rule: str | None
    run_id: str | None


def resolve_id(store: Store, entity: str, record_id: str) -> str:
    """A hub id from a hub id or any system's id of the record."""
    with store.session() as session:
        found = session.scalar(select(ExternalLinkRow.hub_id).where(
            ExternalLinkRow.entity == entity, ExternalLinkRow.external_id == record_id).limit(1))
    return found or record_id


def history(store: Store, entity: str, record_id: str, field: str | None = None) -> list[Change]:
    hub_id = resolve_id(store, entity, record_id)
    with store.session() as session:
        query = select(ChangeLogRow).where(ChangeLogRow.entity == entity, ChangeLogRow.hub_id == hub_id)
        if field is not None:
            query = query.where(ChangeLogRow.field == field)
        rows = session.scalars(query.order_by(ChangeLogRow.changed_at, ChangeLogRow.id))
        return [Change(r.changed_at, r.field, r.old_value, r.new_value, r.source_system, r.source_modified_at,
                       r.rule, r.run_id) for r in rows]
