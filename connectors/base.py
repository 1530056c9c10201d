"""The protocol every connector follows, and the errors they share.

Connectors know their system's API and nothing of the hub: records go in and out as plain dicts in
the system's own field names. The sync engine maps them (mapping/) and keeps state (sync/store).
"""

import abc
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

Record = dict[str, Any]


@dataclass(frozen=True, order=True)
class Cursor:
    """Position in a stream: the last `(modified_at, id)` seen; ids break ties on equal timestamps.

    `read_at` is the system's own clock (its HTTP `Date`) when a pull last read the stream to its end, and
    `deletes_at` when deletions were last listed, where a system lists them apart (HubSpot). Both are on
    the system's clock, so no clock of ours is trusted to agree with it.
    """

    modified_at: datetime | None = None
    last_id: str | None = None
    read_at: datetime | None = field(default=None, compare=False)
    deletes_at: datetime | None = field(default=None, compare=False)


@dataclass
class Page:
    """One page of a pull: changed records, ids deleted since the cursor, and the cursor after it."""

    records: list[Record]
    deleted: list[str]
    cursor: Cursor


@dataclass(frozen=True)
class RecordError(Exception):
    """A single record the system refused; the rest of its batch goes on."""

    code: str
    message: str
    fields: tuple[str, ...] = ()

    def __str__(self) -> str:
        where = f" [{', '.join(self.fields)}]" if self.fields else ""
        return f"{self.code}: {self.message}{where}"


@dataclass
class PushResult:
    """Outcome for one pushed record, matched to it by `key` (the value of the external id field)."""

    key: str
    success: bool
    external_id: str | None = None
    created: bool = False
    error: RecordError | None = None


def each_record(ids: Sequence[str], action: Callable[[str], object]) -> list[PushResult]:
    """Run `action` on each id one call at a time: a `RecordError` fails that id only, the rest go on."""
    results: list[PushResult] = []
    for record_id in ids:
        try:
            action(record_id)
        except RecordError as error:
            results.append(PushResult(key=record_id, success=False, error=error))
            continue
        results.append(PushResult(key=record_id, success=True, external_id=record_id))
    return results


@dataclass
class ApiUsage:
    """Calls this connector made, and the platform's own report of usage against its limit."""

    calls: int = 0
    used: int | None = None
    limit: int | None = None
    window: str = "daily"
    remaining: int | None = field(default=None)
    clock: datetime | None = None  # the system's time at its latest answer (HTTP `Date`)

    def read_clock(self, headers: Mapping[str, str]) -> None:
        """Keep the system's time from an answer's `Date` header (whole seconds, so never ahead of it)."""
        try:
            stamp = parsedate_to_datetime(headers.get("Date") or headers.get("date") or "")
        except (TypeError, ValueError):
            return
        self.clock = stamp.astimezone(UTC) if stamp.tzinfo else stamp.replace(tzinfo=UTC)

    @property
    def percent(self) -> float | None:
        if self.used is None or not self.limit:
            return None
        return 100.0 * self.used / self.limit


class ConnectorError(Exception):
    """Base of every error a connector raises for a whole call (not for one record)."""


class AuthError(ConnectorError):
    """Credentials missing, wrong or expired beyond one re-authentication."""


class RateLimited(ConnectorError):
    """The platform's limit is reached: stop cleanly and resume after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TransientError(ConnectorError):
    """5xx, timeouts and resets that outlasted the retries; the next run tries again."""


class SchemaError(ConnectorError):
    """Objects or fields the sync needs are missing in the system."""


class Connector(abc.ABC):
    """A system the hub syncs with. `system` names it in links, cursors, runs and errors."""

    system: str
    entities: tuple[str, ...]

    def __init__(self) -> None:
        self.usage = ApiUsage()

    @abc.abstractmethod
    def pull(self, entity: str, cursor: Cursor, *, full: bool = False) -> Iterator[Page]:
        """Changes after `cursor` (everything when `full`), oldest first, one page at a time."""

    @abc.abstractmethod
    def push(self, entity: str, records: Sequence[Record]) -> list[PushResult]:
        """Create or update by the external id field; one result per record, in any order."""

    @abc.abstractmethod
    def archive(self, entity: str, ids: Sequence[str]) -> list[PushResult]:
        """Archive (or delete, where the system has no archive) records by their system id."""

    @abc.abstractmethod
    def check_schema(self) -> list[str]:
        """API names of objects or fields the sync needs that the system lacks; empty when ready."""

    def api_usage(self) -> ApiUsage:
        return self.usage
