"""Webhook events seen: an event id is accepted once, so a replayed delivery changes nothing."""

from collections.abc import Iterable

from sqlalchemy.exc import IntegrityError

from sync.store import Store
from sync.store.tables import WebhookEventRow


def accept(store: Store, source: str, event_ids: list[str]) -> list[str]:
    """The ids not seen before (now recorded); ids already accepted are dropped."""
    fresh = []
    for event_id in dict.fromkeys(event_ids):
        try:
            with store.session() as session:
                session.add(WebhookEventRow(source=source, event_id=event_id))
        except IntegrityError:
            continue
        fresh.append(event_id)
    return fresh


# (entity, the system's object id, the change: "creation", "propertyChange", "deletion", ...)
Event = tuple[str, str, str]


def deleted(events: Iterable[Event]) -> dict[str, list[str]]:
    """The object ids announced deleted, by entity: taken at once, without waiting for a pull to list them."""
    found: dict[str, list[str]] = {}
    for entity, object_id, change in events:
        if change == "deletion":
            found.setdefault(entity, []).append(object_id)
    return found
