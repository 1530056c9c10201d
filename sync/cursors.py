"""Stream cursors, saved in the same transaction as the page they follow."""

from sqlalchemy.orm import Session

from connectors.base import Cursor
from sync.store.tables import SyncCursorRow


def load(session: Session, system: str, entity: str) -> Cursor:
    row = session.get(SyncCursorRow, (system, entity))
    return Cursor() if row is None else Cursor(row.modified_at, row.last_id)


def save(session: Session, system: str, entity: str, cursor: Cursor) -> None:
    """Move the cursor forward only: a stale worker can never move it back."""
    row = session.get(SyncCursorRow, (system, entity), with_for_update=True)
    if row is None:
        session.add(SyncCursorRow(system=system, entity=entity, modified_at=cursor.modified_at,
                                  last_id=cursor.last_id))
        return
    if row.modified_at is None or (cursor.modified_at, cursor.last_id or "") >= (row.modified_at, row.last_id or ""):
        row.modified_at, row.last_id = cursor.modified_at, cursor.last_id
