"""external_links: one hub record <-> one record per system, with the last pushed hash and snapshot."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.store.tables import ExternalLinkRow


def by_external(session: Session, entity: str, system: str, external_id: str) -> ExternalLinkRow | None:
    return session.scalar(select(ExternalLinkRow).where(
        ExternalLinkRow.entity == entity, ExternalLinkRow.system == system,
        ExternalLinkRow.external_id == external_id))


def by_hub(session: Session, entity: str, system: str, hub_id: str) -> ExternalLinkRow | None:
    return session.scalar(select(ExternalLinkRow).where(
        ExternalLinkRow.entity == entity, ExternalLinkRow.system == system, ExternalLinkRow.hub_id == hub_id))


def for_hub(session: Session, entity: str, hub_id: str) -> list[ExternalLinkRow]:
    return list(session.scalars(select(ExternalLinkRow).where(
        ExternalLinkRow.entity == entity, ExternalLinkRow.hub_id == hub_id)))


def link(session: Session, entity: str, system: str, hub_id: str, external_id: str) -> ExternalLinkRow:
    """The link for this hub record in `system`, created or repointed to `external_id`."""
    row = by_hub(session, entity, system, hub_id)
    if row is None:
        row = ExternalLinkRow(entity=entity, system=system, hub_id=hub_id, external_id=external_id, archived=False)
        session.add(row)
        session.flush()
    elif row.external_id != external_id:
        row.external_id = external_id
    row.archived = False
    return row


def external_id(session: Session, entity: str, system: str, hub_id: str) -> str | None:
    row = by_hub(session, entity, system, hub_id)
    return None if row is None or row.archived else row.external_id


def hub_id(session: Session, entity: str, system: str, external: str) -> str | None:
    row = by_external(session, entity, system, external)
    return None if row is None else row.hub_id
