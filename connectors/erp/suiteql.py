"""SuiteQL for an incremental pull: the columns per record type and the keyset condition on a cursor.

SuiteQL shows datetimes in the integration user's time zone and dates in the user's date format, and
leaves null columns out of a result row; every date is therefore read through TO_CHAR in a fixed format.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from connectors.base import Cursor

STAMP_FORMAT = "YYYY-MM-DD HH24:MI:SS"
PY_STAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
DATE_FORMAT = "YYYY-MM-DD"


@dataclass(frozen=True)
class Source:
    """A SuiteQL table: result column -> REST record field, which of them are dates, and a fixed filter.

    Bills without an external id were not sent by the sync and are left out.
    """

    table: str
    columns: dict[str, str]
    dates: tuple[str, ...] = ()
    where: str | None = None


VENDOR = Source(
    table="vendor",
    columns={
        "id": "id",
        "externalid": "externalId",
        "companyname": "companyName",
        "email": "email",
        "phone": "phone",
        "url": "url",
        "taxidnum": "taxIdNum",
        "isinactive": "isInactive",
    },
)

VENDOR_BILL = Source(
    table="transaction",
    columns={
        "id": "id",
        "externalid": "externalId",
        "tranid": "tranId",
        "entity": "entity",
        "currency": "currency",
        "status": "status",
        "foreigntotal": "total",
        "foreignamountpaid": "amountPaid",
        "foreignamountunpaid": "amountRemaining",
        "memo": "memo",
        "trandate": "tranDate",
        "duedate": "dueDate",
        "closedate": "closeDate",
    },
    dates=("trandate", "duedate", "closedate"),
    where="type = 'VendBill' AND externalid IS NOT NULL",
)


def stamp(moment: datetime, zone: ZoneInfo) -> str:
    """A UTC moment as SuiteQL compares it: wall time in the user's zone."""
    return moment.astimezone(zone).strftime(PY_STAMP_FORMAT)


def parse_stamp(text: str, zone: ZoneInfo) -> datetime:
    """A TO_CHAR'd datetime in the user's zone back to UTC."""
    return datetime.strptime(text, PY_STAMP_FORMAT).replace(tzinfo=zone).astimezone(UTC)


def query(source: Source, cursor: Cursor, zone: ZoneInfo, *, resume: bool = False) -> str:
    """Rows changed after `cursor` (ties on the timestamp broken by id), oldest first.

    `resume` re-reads the cursor's whole second: timestamps have one-second precision, so a row
    changed later in that second with a lower id would otherwise never come back.
    """
    selected = [
        f"TO_CHAR({column}, '{DATE_FORMAT}') AS {column}" if column in source.dates else column
        for column in source.columns
    ]
    selected.append(f"TO_CHAR(lastmodifieddate, '{STAMP_FORMAT}') AS lastmodified")
    conditions = [source.where] if source.where else []
    if cursor.modified_at is not None:
        at = f"TO_TIMESTAMP('{stamp(cursor.modified_at, zone)}', '{STAMP_FORMAT}')"
        after = f"lastmodifieddate {'>=' if resume else '>'} {at}"
        if not resume and cursor.last_id is not None and cursor.last_id.isdigit():
            after = f"({after} OR (lastmodifieddate = {at} AND id > {int(cursor.last_id)}))"
        conditions.append(after)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    return f"SELECT {', '.join(selected)} FROM {source.table}{where} ORDER BY lastmodifieddate, id"
