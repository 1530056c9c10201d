"""external_links: which record in which system is which hub record.

Lookups are batched (one query per page) and return plain `Link` values, not ORM objects; changes go
back in one executemany per page through `save`, so a page never pays a unit-of-work flush per link.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, insert, select, update
from sqlalchemy.orm import Session

from sync.store.tables import Base, ExternalLinkRow

TABLE = Base.metadata.tables[ExternalLinkRow.__tablename__]
_COLUMNS = ("entity", "hub_id", "system", "external_id", "last_synced_snapshot", "last_pushed_hash",
            "remote_modified_at", "archived", "id")  # the order of `Link`'s fields
_CHANGING = ("last_synced_snapshot", "last_pushed_hash", "remote_modified_at", "archived")
_UPDATE = update(TABLE).where(TABLE.c.id == bindparam("link_id"))  # SET: the keys of the parameters


@dataclass(slots=True)
class Link:
    """One row of external_links; `id` is None until `save` inserts it."""

    entity: str
    hub_id: str
    system: str
    external_id: str
    last_synced_snapshot: dict[str, Any] | None = None
    last_pushed_hash: str | None = None
    remote_modified_at: datetime | None = None
    archived: bool = False
    id: int | None = None


def _rows(session: Session, *where: ColumnElement[bool]) -> list[Link]:
    query = select(*(TABLE.c[name] for name in _COLUMNS)).where(*where)
    return [Link(*row) for row in session.execute(query)]


def by_external(session: Session, entity: str, system: str, external_ids: Iterable[str]) -> dict[str, Link]:
    ids = list(dict.fromkeys(external_ids))
    if not ids:
        return {}
    rows = _rows(session, TABLE.c.entity == entity, TABLE.c.system == system, TABLE.c.external_id.in_(ids))
    return {row.external_id: row for row in rows}


def by_hub(session: Session, entity: str, system: str, hub_ids: Iterable[str]) -> dict[str, Link]:
    ids = list(dict.fromkeys(hub_ids))
    if not ids:
        return {}
    rows = _rows(session, TABLE.c.entity == entity, TABLE.c.system == system, TABLE.c.hub_id.in_(ids))
    return {row.hub_id: row for row in rows}


def all_of(session: Session, entity: str, hub_ids: Iterable[str]) -> dict[str, dict[str, Link]]:
    """hub id -> system -> link, for every system."""
    found: dict[str, dict[str, Link]] = {}
    ids = list(dict.fromkeys(hub_ids))
    if ids:
        for row in _rows(session, TABLE.c.entity == entity, TABLE.c.hub_id.in_(ids)):
            found.setdefault(row.hub_id, {})[row.system] = row
    return found


def save(session: Session, changed: Iterable[Link]) -> None:
    """Write new links (one insert) and changed ones (one update), each as a single executemany."""
    new: list[Link] = []
    known: list[Link] = []
    for link in dict((id(link), link) for link in changed).values():
        (known if link.id is not None else new).append(link)
    if new:
        session.execute(insert(TABLE), [{name: getattr(link, name) for name in _COLUMNS if name != "id"}
                                        for link in new])
    if known:
        session.execute(_UPDATE, [{"link_id": link.id, **{name: getattr(link, name) for name in _CHANGING}}
                                  for link in known])
