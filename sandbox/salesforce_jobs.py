"""Bulk API 2.0 ingest jobs in the sandbox: Open -> UploadComplete -> InProgress -> JobComplete.

The CSV is processed when the client marks the upload complete; the job then reports InProgress to
the first poll and JobComplete after, so a client must really poll. Results come back as CSV with
`sf__Id`, `sf__Created` (successful) or `sf__Error` (failed) before the uploaded columns.
"""

import csv
import io
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sandbox.salesforce_org import Org, RecordFailure

NULL = "#N/A"


@dataclass
class Job:
    id: str
    sobject: str
    operation: str
    external_id: str
    api_version: str
    state: str = "Open"
    data: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    succeeded: list[list[str]] = field(default_factory=list)
    failed: list[list[str]] = field(default_factory=list)
    unprocessed: list[list[str]] = field(default_factory=list)
    polls: int = 0
    created: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000"))

    def info(self) -> dict[str, Any]:
        if self.state == "UploadComplete":
            self.state = "InProgress"
        elif self.state == "InProgress":
            self.state = "JobComplete"
        return {"id": self.id, "operation": self.operation, "object": self.sobject, "state": self.state,
                "externalIdFieldName": self.external_id, "contentType": "CSV", "apiVersion": float(self.api_version),
                "concurrencyMode": "Parallel", "lineEnding": "LF", "columnDelimiter": "COMMA",
                "createdDate": self.created, "systemModstamp": self.created,
                "contentUrl": f"services/data/v{self.api_version}/jobs/ingest/{self.id}/batches",
                "numberRecordsProcessed": len(self.succeeded) + len(self.failed),
                "numberRecordsFailed": len(self.failed)}


class Jobs:
    def __init__(self, org: Org) -> None:
        self.org = org
        self.jobs: dict[str, Job] = {}
        self._ids = itertools.count(1)

    def create(self, body: dict[str, Any], api_version: str) -> Job:
        sobject, operation = body.get("object"), body.get("operation")
        if sobject not in self.org.schema:
            raise RecordFailure("INVALIDENTITY", f"Entity type {sobject} is not supported by the Bulk API")
        if operation != "upsert" or not body.get("externalIdFieldName"):
            raise RecordFailure("INVALIDJOB", "this sandbox ingests upsert jobs with an externalIdFieldName")
        job = Job(f"7508d{next(self._ids):010d}AAA", str(sobject), str(operation), str(body["externalIdFieldName"]),
                  api_version)
        self.jobs[job.id] = job
        return job

    def upload(self, job: Job, text: str) -> None:
        if job.state != "Open":
            raise RecordFailure("INVALIDJOBSTATE", f"Job is not open for uploads: {job.state}")
        job.data.append(text)

    def close(self, job: Job, state: str) -> None:
        if state == "Aborted":
            job.state = "Aborted"
            return
        if state != "UploadComplete" or job.state != "Open":
            raise RecordFailure("INVALIDJOBSTATE", f"Cannot change state from {job.state} to {state}")
        job.state = "UploadComplete"
        rows = list(csv.reader(io.StringIO("".join(job.data))))
        job.columns = rows[0] if rows else []
        with self.org.lock:
            for row in rows[1:]:
                self._ingest(job, row)

    def _ingest(self, job: Job, row: list[str]) -> None:
        record = {name: (None if value == NULL else value)
                  for name, value in zip(job.columns, row, strict=False) if value != ""}
        try:
            record_id, created = self.org.upsert(job.sobject, job.external_id, record)
        except RecordFailure as failure:
            fields = ",".join(failure.fields)
            job.failed.append(["", f"{failure.code}:{failure.message}:{fields} --", *row])
            return
        job.succeeded.append([record_id, "true" if created else "false", *row])

    def results(self, job: Job, kind: str) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
        if kind == "successfulResults":
            writer.writerow(["sf__Id", "sf__Created", *job.columns])
            writer.writerows(job.succeeded)
        elif kind == "failedResults":
            writer.writerow(["sf__Id", "sf__Error", *job.columns])
            writer.writerows(job.failed)
        else:
            writer.writerow(job.columns)
            writer.writerows(job.unprocessed)
        return out.getvalue()
