"""Field-level lineage: the change_log of one hub record, found by hub id or any system's id."""

from sqlalchemy import select

from sync.store import Store
from sync.store.tables import ChangeLogRow, ExternalLinkRow


def history(store: Store, entity: str, record_id: str, field: str | None = None) -> list[ChangeLogRow]:
    with store.session() as session:
        hub_ids = {record_id, *session.scalars(select(ExternalLinkRow.hub_id).where(
            ExternalLinkRow.entity == entity, ExternalLinkRow.external_id == record_id))}
        query = select(ChangeLogRow).where(ChangeLogRow.entity == entity, ChangeLogRow.hub_id.in_(hub_ids))
        if field:
            query = query.where(ChangeLogRow.field == field)
        return list(session.scalars(query.order_by(ChangeLogRow.changed_at, ChangeLogRow.id)))
