"""Transactional outbox: rows written in the same transaction as the hub change that caused them."""

import hashlib
import json
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from sync.store import batches
from sync.store.tables import Base, ExternalLinkRow, OutboxRow

OUTBOX = Base.metadata.tables[OutboxRow.__tablename__]


def payload_hash(payload: dict[str, Any]) -> str:
    """Stable hash of a payload (key order and number formatting do not matter)."""
    text = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def linked_systems(session: Session, entity: str, hub_id: str) -> list[str]:
    """Systems holding a live link to this hub record."""
    return live_links(session, entity, [hub_id]).get(hub_id, [])


def live_links(session: Session, entity: str, hub_ids: Sequence[str],
               systems: Collection[str] | None = None) -> dict[str, list[str]]:
    """hub id -> the systems (of `systems`, default all) holding a live link to it, sorted."""
    found: dict[str, list[str]] = defaultdict(list)
    for batch in batches(hub_ids):
        query = select(ExternalLinkRow.hub_id, ExternalLinkRow.system).where(
            ExternalLinkRow.entity == entity, ExternalLinkRow.hub_id.in_(batch), ExternalLinkRow.archived.is_(False))
        if systems is not None:
            query = query.where(ExternalLinkRow.system.in_(systems))
        for hub_id, system in session.execute(query):
            found[hub_id].append(system)
    return {hub_id: sorted(names) for hub_id, names in found.items()}


def enqueue(
    session: Session,
    *,
    entity: str,
    hub_id: str,
    systems: Iterable[str],
    payload: dict[str, Any],
    operation: str = "upsert",
    run_id: str | None = None,
) -> list[OutboxRow]:
    """Queue `payload` (unified field names) for each system; the pusher maps it to the system's fields."""
    digest = payload_hash(payload)
    rows = [
        OutboxRow(system=system, entity=entity, hub_id=hub_id, operation=operation, payload=payload,
                  payload_hash=digest, run_id=run_id)
        for system in systems
    ]
    session.add_all(rows)
    return rows


def enqueue_many(session: Session, rows: list[tuple[str, str, str]], *, payload: dict[str, Any],
                 run_id: str | None = None) -> None:
    """Queue one `payload` for many (entity, hub id, system) at once: a single executemany for a page."""
    if rows:
        digest = payload_hash(payload)
        session.execute(insert(OUTBOX), [
            {"system": system, "entity": entity, "hub_id": hub_id, "operation": "upsert", "payload": payload,
             "payload_hash": digest, "run_id": run_id} for entity, hub_id, system in rows])
