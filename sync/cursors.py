"""Stream cursors: read, and advanced only forwards, inside the page's transaction."""

from datetime import datetime

from sqlalchemy.orm import Session

from connectors.base import Cursor
from sync.store.tables import SyncCursorRow


def load(session: Session, system: str, entity: str) -> Cursor:
    row = session.get(SyncCursorRow, (system, entity))
    return Cursor() if row is None else Cursor(row.modified_at, row.last_id)


def advance(session: Session, system: str, entity: str, cursor: Cursor, *, full_at: datetime | None = None) -> None:
    """Store `cursor` unless the stored one is already past it (a cursor never moves backwards)."""
    row = session.get(SyncCursorRow, (system, entity), with_for_update=True)
    if row is None:
        row = SyncCursorRow(system=system, entity=entity)
        session.add(row)
    stored = Cursor(row.modified_at, row.last_id)
    if cursor.modified_at is not None and (stored.modified_at is None or _key(cursor) > _key(stored)):
        row.modified_at, row.last_id = cursor.modified_at, cursor.last_id
    if full_at is not None:
        row.full_sync_at = full_at


def _key(cursor: Cursor) -> tuple[datetime, str]:
    assert cursor.modified_at is not None
    return cursor.modified_at, cursor.last_id or ""
