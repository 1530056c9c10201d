"""Webhook events seen: an event id is accepted once, so a replayed delivery changes nothing."""

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
