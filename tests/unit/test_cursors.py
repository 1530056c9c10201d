"""Where a pull starts: the lookback applies only while the last full read may have missed late changes."""

from datetime import UTC, datetime, timedelta

from connectors.base import Cursor
from sync.cursors import start

AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
LOOKBACK = timedelta(seconds=5)


def test_an_empty_cursor_reads_everything() -> None:
    assert start(Cursor(), LOOKBACK) == Cursor()


def test_without_a_read_time_the_lookback_applies() -> None:
    begun = start(Cursor(AT, "42"), LOOKBACK)
    assert begun.modified_at == AT - LOOKBACK and begun.last_id is None


def test_a_read_soon_after_the_cursor_re_reads_from_the_read_time_minus_the_lookback() -> None:
    begun = start(Cursor(AT, "42", read_at=AT + timedelta(seconds=2), deletes_at=AT), LOOKBACK)
    assert begun.modified_at == AT - timedelta(seconds=3) and begun.last_id is None
    assert begun.read_at == AT + timedelta(seconds=2) and begun.deletes_at == AT


def test_a_read_well_after_the_cursor_starts_at_the_cursor_itself() -> None:
    cursor = Cursor(AT, "42", read_at=AT + timedelta(seconds=5))
    begun = start(cursor, LOOKBACK)
    assert (begun.modified_at, begun.last_id, begun.read_at) == (AT, "42", cursor.read_at)
