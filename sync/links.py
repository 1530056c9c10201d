"""external_links: which record in which system is which hub record. Batch lookups only."""

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.store.tables import ExternalLinkRow


def by_external(session: Session, entity: str, system: str, external_ids: Iterable[str]) -> dict[str, ExternalLinkRow]:
    ids = list(dict.fromkeys(external_ids))
    if not ids:
        return {}
    rows = session.scalars(select(ExternalLinkRow).where(
        ExternalLinkRow.entity == entity, ExternalLinkRow.system == system, ExternalLinkRow.external_id.in_(ids)))
    return {row.external_id: row for row in rows}


def by_hub(session: Session, entity: str, system: str, hub_ids: Iterable[str]) -> dict[str, ExternalLinkRow]:
    ids = list(dict.fromkeys(hub_ids))
    if not ids:
        return {}
    rows = session.scalars(select(ExternalLinkRow).where(
        ExternalLinkRow.entity == entity, ExternalLinkRow.system == system, ExternalLinkRow.hub_id.in_(ids)))
    return {row.hub_id: row for row in rows}


def all_of(session: Session, entity: str, hub_ids: Iterable[str]) -> dict[str, dict[str, ExternalLinkRow]]:
    """hub id -> system -> link, for every system."""
    found: dict[str, dict[str, ExternalLinkRow]] = {}
    ids = list(dict.fromkeys(hub_ids))
    if ids:
        for row in session.scalars(select(ExternalLinkRow).where(
                ExternalLinkRow.entity == entity, ExternalLinkRow.hub_id.in_(ids))):
            found.setdefault(row.hub_id, {})[row.system] = row
    return found
