"""Bulk API 2.0 ingest: one upsert job for a batch too big for 200-record collection calls.

Create the job, upload the CSV, mark UploadComplete, poll until it ends, then read
successfulResults and failedResults; a record in neither was not processed and is reported so.
"""

import csv
import io
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from simple_salesforce import Salesforce

from config.systems import SalesforceSettings
from connectors.base import PushResult, Record, RecordError, TransientError

T = TypeVar("T")
DONE = {"JobComplete", "Failed", "Aborted"}
NULL = "#N/A"  # Bulk 2.0's way to blank a field; an empty cell leaves it unchanged


class Api(Protocol):
    """The two ways the connector calls Salesforce (retries, re-login and error mapping included)."""

    def call(self, fn: Callable[[Salesforce], T], describe: str) -> T: ...

    def restful(self, describe: str, path: str, **kwargs: Any) -> Any: ...


def upsert(api: Api, settings: SalesforceSettings, sobject: str, records: Sequence[Record]) -> list[PushResult]:
    ext = settings.external_id_field
    job = api.restful("bulk create job", "jobs/ingest", method="POST", json={
        "object": sobject, "externalIdFieldName": ext, "contentType": "CSV",
        "operation": "upsert", "lineEnding": "LF"})
    job_id = str(job["id"])
    path = f"jobs/ingest/{job_id}"
    body = to_csv(records).encode()
    api.call(lambda sf: sf._call_salesforce("PUT", f"{sf.base_url}{path}/batches", name="bulk upload", data=body,
                                        headers={"Content-Type": "text/csv"}), "bulk upload")
    api.restful("bulk close job", path, method="PATCH", json={"state": "UploadComplete"})
    state = _wait(api, settings, path)
    results: dict[str, PushResult] = {}
    for row in _rows(api, f"{path}/successfulResults"):
        key = row.get(ext, "")
        results[key] = PushResult(key, True, row.get("sf__Id") or None, row.get("sf__Created") == "true")
    for row in _rows(api, f"{path}/failedResults"):
        key = row.get(ext, "")
        results[key] = PushResult(key, False, row.get("sf__Id") or None, error=parse_error(row.get("sf__Error", "")))
    reason = RecordError("NOT_PROCESSED", f"bulk job {job_id} ended {state['state']} without processing the "
                         f"record: {state.get('errorMessage') or 'no reason given'}")
    return [results.get(str(r.get(ext, "")), PushResult(str(r.get(ext, "")), False, error=reason)) for r in records]


def to_csv(records: Sequence[Record]) -> str:
    """CSV with the union of the records' fields; None becomes #N/A so it blanks the field."""
    columns = list(dict.fromkeys(name for record in records for name in record))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for record in records:
        writer.writerow([_cell(record.get(name, None), name in record) for name in columns])
    return out.getvalue()


def _cell(value: Any, present: bool) -> str:
    if not present:
        return ""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_error(text: str) -> RecordError:
    """`REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --` -> code, message, fields."""
    code, _, rest = text.partition(":")
    fields: tuple[str, ...] = ()
    if rest.endswith(" --"):
        message, _, names = rest[:-3].rpartition(":")
        if message:
            rest, fields = message, tuple(n for n in names.split(",") if n)
    return RecordError(code or "UNKNOWN_ERROR", rest.strip() or text, fields)


def _wait(api: Api, settings: SalesforceSettings, path: str) -> dict[str, Any]:
    deadline = time.monotonic() + settings.bulk_timeout_seconds
    while True:
        state: dict[str, Any] = api.restful("bulk poll job", path)
        if state.get("state") in DONE:
            return state
        if time.monotonic() > deadline:
            raise TransientError(f"salesforce bulk job {path} still {state.get('state')} after "
                                 f"{settings.bulk_timeout_seconds:.0f}s; the next run pushes again")
        time.sleep(settings.bulk_poll_seconds)


def _rows(api: Api, path: str) -> list[dict[str, str]]:
    response = api.call(lambda sf: sf._call_salesforce("GET", f"{sf.base_url}{path}", name="bulk results",
                                                   headers={"Accept": "text/csv"}), "bulk results")
    return list(csv.DictReader(io.StringIO(response.text)))
