"""Stream cursors, saved in the same transaction as the page they follow."""

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from connectors.base import Cursor
from sync.store.tables import SyncCursorRow


def load(session: Session, system: str, entity: str) -> Cursor:
    row = session.get(SyncCursorRow, (system, entity))
    return Cursor() if row is None else Cursor(row.modified_at, row.last_id, row.read_at, row.deletes_at)


def start(cursor: Cursor, lookback: timedelta) -> Cursor:
    """Where the next pull begins. A system may show a change seconds after the time it stamps on it, so a
    pull re-reads `lookback` before its cursor, unless the last full read began more than `lookback`
    after the cursor's stamp (on the system's clock): everything stamped up to the cursor was visible then.
    """
    if cursor.modified_at is None:
        return cursor
    horizon = (cursor.read_at or cursor.modified_at) - lookback
    if horizon >= cursor.modified_at:
        return cursor
    return Cursor(horizon, None, cursor.read_at, cursor.deletes_at)


def _locked(session: Session, system: str, entity: str) -> SyncCursorRow:
    """The stream's cursor row, locked for this transaction (a new, empty one the first time)."""
    row = session.get(SyncCursorRow, (system, entity), with_for_update=True)
    if row is None:
        row = SyncCursorRow(system=system, entity=entity)
        session.add(row)
    return row


def save(session: Session, system: str, entity: str, cursor: Cursor) -> None:
    """Move the cursor forward only: a stale worker can never move it back."""
    row = _locked(session, system, entity)
    if row.modified_at is None or (cursor.modified_at, cursor.last_id or "") >= (row.modified_at, row.last_id or ""):
        row.modified_at, row.last_id = cursor.modified_at, cursor.last_id


def finish(session: Session, system: str, entity: str, read_at: datetime | None, deletes_at: datetime | None) -> None:
    """A pull read the stream to its end: keep when it began reading, and when it listed deletions."""
    row = _locked(session, system, entity)
    if read_at is not None and (row.read_at is None or read_at > row.read_at):
        row.read_at = read_at
    if deletes_at is not None and (row.deletes_at is None or deletes_at > row.deletes_at):
        row.deletes_at = deletes_at
