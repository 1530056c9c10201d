"""An in-memory Salesforce org over HTTPS, for tests, the demo and benchmarks.

    sandbox = SalesforceSandbox().start()
    settings = SalesforceSettings(instance_url=sandbox.url, access_token=sandbox.access_token,
                                  login_url=sandbox.url, verify_tls=sandbox.ca_file)
    sandbox.seed_accounts(500)

simple-salesforce always builds `https://` URLs, so the sandbox serves TLS with a certificate from a
throwaway local CA (trustme, see sandbox/server.py); clients verify against `sandbox.ca_file` through
`verify_tls`. Behaviour follows Salesforce's public REST docs: `query`/`queryAll` in batches of up to
2,000 (`Sforce-Query-Options: batchSize`) with `nextRecordsUrl`, sObject CRUD and describe, sObject
Collections upsert/delete with per-record results, Bulk API 2.0 ingest, OAuth token and SOAP login,
`Sforce-Limit-Info` on every data response and a daily API allowance (403 REQUEST_LIMIT_EXCEEDED).
Switches: `limit_exceeded()`, `expire_sessions()`, `server_errors(n)`, `slow(seconds)` and `faults`.
"""

import argparse
import json
import secrets
import sys
import threading
from datetime import date, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox import salesforce_login
from sandbox.faults import FaultMiddleware, Faults
from sandbox.salesforce_jobs import Jobs
from sandbox.salesforce_org import REQUIRED, InvalidField, Org, RecordFailure, Row
from sandbox.salesforce_org import SYSTEM as SYSTEM_FIELDS
from sandbox.salesforce_seed import Seeder
from sandbox.salesforce_soql import MalformedQuery, Query
from sandbox.server import SandboxServer, Served

API_VERSION = "61.0"
MAX_BATCH, MIN_BATCH, COLLECTION_LIMIT = 2000, 200, 200


def error(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    """Salesforce's REST error body: a list of `{"message", "errorCode"}`."""
    return JSONResponse([{"message": message, "errorCode": code}], status_code=status, headers=headers)


def sf_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"
    if isinstance(value, date):
        return value.isoformat()
    return value


class SalesforceSandbox(Served):
    def __init__(self, *, api_limit: int = 100_000, seed: int = 7) -> None:
        self.org = Org()
        self.creds = salesforce_login.Credentials()
        self.jobs = Jobs(self.org)
        self.faults = Faults()
        self.api_limit = api_limit
        self.api_used = 0
        self.access_token = self.creds.issue()
        self.seeder = Seeder(self.org, seed)
        self._cursors: dict[str, tuple[Query, list[Row], int]] = {}
        self._lock = threading.Lock()
        self.server = SandboxServer(FaultMiddleware(self._app(), self.faults), tls=True)

    # -- lifecycle and switches ------------------------------------------------------------------

    @property
    def ca_file(self) -> str:
        assert self.server.ca_file is not None, "start() the sandbox first"
        return self.server.ca_file

    def limit_exceeded(self) -> None:
        """Spend the rest of today's allowance: every data call now answers 403 REQUEST_LIMIT_EXCEEDED."""
        self.api_used = self.api_limit

    def new_day(self) -> None:
        self.api_used = 0

    def expire_sessions(self) -> None:
        """Every issued session becomes invalid (401 INVALID_SESSION_ID) until the client logs in again."""
        self.creds.sessions.clear()

    def server_errors(self, times: int = 1, path: str | None = None) -> None:
        body = json.dumps([{"errorCode": "UNKNOWN_EXCEPTION", "message": "An unexpected error occurred. "
                            "Please include this ErrorId if you contact support: 1234-5678 (sandbox)"}])
        self.faults.inject(500, body=body, times=times, path=path)

    def slow(self, seconds: float) -> None:
        self.faults.delay = seconds

    def remove_field(self, sobject: str, name: str) -> None:
        self.org.schema[sobject].pop(name, None)

    # -- seed and inspect ------------------------------------------------------------------------

    def seed_accounts(self, count: int, **fields: Any) -> list[str]:
        return self.seeder.accounts(count, **fields)

    def seed_opportunities(self, count: int, partner_ids: list[str] | None = None, **fields: Any) -> list[str]:
        return self.seeder.opportunities(count, partner_ids, **fields)

    def records(self, sobject: str, *, include_deleted: bool = False) -> list[Row]:
        with self.org.lock:
            return [dict(r) for r in self.org.table(sobject).values() if include_deleted or not r["IsDeleted"]]

    def get(self, sobject: str, record_id: str) -> Row:
        return dict(self.org.table(sobject)[record_id])

    def update(self, sobject: str, record_id: str, **values: Any) -> None:
        with self.org.lock:
            self.org.update(sobject, self.org.table(sobject)[record_id], values)

    def delete(self, record_id: str) -> None:
        with self.org.lock:
            self.org.delete(record_id)

    # -- HTTP ------------------------------------------------------------------------------------

    def _app(self) -> Starlette:
        data = "/services/data/v{version}"
        routes = [
            Route("/services/oauth2/token", self._token, methods=["POST"]),
            Route("/services/Soap/u/{version}", self._soap, methods=["POST"]),
            Route(data + "/limits", self._api(self._limits)),
            *(Route(f"{data}/{kind}", self._api(self._query), name=kind) for kind in ("query", "queryAll")),
            *(Route(f"{data}/{kind}/{{locator}}", self._api(self._query_more), name=f"{kind}-more")
              for kind in ("query", "queryAll")),
            Route(data + "/sobjects/{sobject}/describe", self._api(self._describe)),
            Route(data + "/sobjects/{sobject}", self._api(self._create), methods=["POST"]),
            Route(data + "/sobjects/{sobject}/{record_id}", self._api(self._record),
                  methods=["GET", "PATCH", "DELETE"]),
            Route(data + "/sobjects/{sobject}/{field}/{value}", self._api(self._upsert_one), methods=["PATCH"]),
            Route(data + "/composite/sobjects/{sobject}/{field}", self._api(self._upsert_many), methods=["PATCH"]),
            Route(data + "/composite/sobjects", self._api(self._delete_many), methods=["DELETE"]),
            Route(data + "/composite/sobjects", self._api(self._update_many), methods=["PATCH"]),
            Route(data + "/jobs/ingest", self._api(self._job_create), methods=["POST"]),
            Route(data + "/jobs/ingest/{job_id}", self._api(self._job), methods=["GET", "PATCH"]),
            Route(data + "/jobs/ingest/{job_id}/batches", self._api(self._job_upload), methods=["PUT"]),
            Route(data + "/jobs/ingest/{job_id}/{kind}", self._api(self._job_results)),
        ]
        return Starlette(routes=routes)

    async def _token(self, request: Request) -> Response:
        return await salesforce_login.token(request, self.creds, self.url)

    async def _soap(self, request: Request) -> Response:
        return await salesforce_login.soap_login(request, self.creds, self.url)

    def _api(self, handler: Any) -> Any:
        """Session check, the daily allowance and `Sforce-Limit-Info`, and Salesforce's error bodies."""

        async def endpoint(request: Request) -> Response:
            auth = request.headers.get("authorization", "")
            if auth.removeprefix("Bearer ").strip() not in self.creds.sessions:
                return error(401, "INVALID_SESSION_ID", "Session expired or invalid")
            with self._lock:
                exceeded = self.api_used >= self.api_limit
                self.api_used += 0 if exceeded else 1
                usage = {"Sforce-Limit-Info": f"api-usage={self.api_used}/{self.api_limit}"}
            if exceeded:
                return error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", **usage)
            try:
                with self.org.lock:
                    response: Response = await handler(request)
            except MalformedQuery as exc:
                response = error(400, "MALFORMED_QUERY", str(exc))
            except InvalidField as exc:
                response = error(400, "INVALID_FIELD", str(exc))
            except RecordFailure as exc:
                response = error(400, exc.code, exc.message)
            except KeyError as exc:
                response = error(404, "NOT_FOUND", f"The requested resource does not exist ({exc.args[0]})")
            response.headers.update(usage)
            return response

        return endpoint

    async def _limits(self, request: Request) -> Response:
        remaining = max(self.api_limit - self.api_used, 0)
        return JSONResponse({"DailyApiRequests": {"Max": self.api_limit, "Remaining": remaining},
                             "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000}})

    def _row(self, query: Query | None, row: Row, fields: list[str], sobject: str) -> dict[str, Any]:
        out: dict[str, Any] = {"attributes": {"type": sobject,
                                              "url": f"/services/data/v{API_VERSION}/sobjects/{sobject}/{row['Id']}"}}
        for name in fields:
            head, _, tail = name.partition(".")
            value = row.get(head)
            if not tail:
                out[name] = sf_value(value)
            elif value is not None:
                related = out.setdefault(head, {"attributes": {"type": head}})
                related[tail] = sf_value(value.get(tail))
            else:
                out[head] = None
        for child, child_fields in (query.children.items() if query else ()):
            items = row.get("_line_items") or []
            out[child] = {"totalSize": len(items), "done": True, "records": [
                self._row(None, item, child_fields, "OpportunityLineItem") for item in items]} if items else None
        return out

    async def _query(self, request: Request) -> Response:
        kind = request.url.path.rsplit("/", 1)[-1]
        soql = request.query_params.get("q")
        if not soql:
            return error(400, "MALFORMED_QUERY", "A query string has to be specified")
        query, rows = self.org.query(soql, include_deleted=kind == "queryAll")
        size = MAX_BATCH
        for option in request.headers.get("sforce-query-options", "").split(","):
            name, _, value = option.strip().partition("=")
            if name == "batchSize" and value.isdigit():
                size = min(max(int(value), MIN_BATCH), MAX_BATCH)
        locator = f"01g8d{secrets.token_hex(5)}"
        self._cursors[locator] = (query, rows, size)
        return self._batch(request, kind, locator, 0)

    async def _query_more(self, request: Request) -> Response:
        kind = request.url.path.split("/")[-2]
        locator, _, position = request.path_params["locator"].rpartition("-")
        if locator not in self._cursors or not position.isdigit():
            return error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._batch(request, kind, locator, int(position))

    def _batch(self, request: Request, kind: str, locator: str, offset: int) -> Response:
        query, rows, size = self._cursors[locator]
        body: dict[str, Any] = {"totalSize": len(rows), "done": offset + size >= len(rows), "records": [
            self._row(query, row, query.fields, query.sobject) for row in rows[offset:offset + size]]}
        if body["done"]:
            del self._cursors[locator]
        else:
            version = request.path_params["version"]
            body["nextRecordsUrl"] = f"/services/data/v{version}/{kind}/{locator}-{offset + size}"
        return JSONResponse(body)

    async def _describe(self, request: Request) -> Response:
        sobject = request.path_params["sobject"]
        columns = self.org.schema[sobject]
        fields = [{"name": name, "type": kind, "label": name, "custom": name.endswith("__c"),
                   "externalId": name in self.org.external_ids, "updateable": name not in SYSTEM_FIELDS,
                   "createable": name not in SYSTEM_FIELDS, "nillable": name not in REQUIRED.get(sobject, ())}
                  for name, kind in columns.items()]
        return JSONResponse({"name": sobject, "label": sobject, "custom": False, "queryable": True,
                             "createable": True, "updateable": True, "deletable": True, "fields": fields})

    async def _create(self, request: Request) -> Response:
        sobject = request.path_params["sobject"]
        values = await self._values(request, sobject)
        row = self.org.insert(sobject, values)
        return JSONResponse({"id": row["Id"], "success": True, "errors": []}, status_code=201)

    async def _values(self, request: Request, sobject: str) -> Row:
        body = await request.json()
        return {name: self.org.coerce(sobject, name, value) for name, value in body.items() if name != "attributes"}

    async def _record(self, request: Request) -> Response:
        sobject, record_id = request.path_params["sobject"], request.path_params["record_id"]
        row = self.org.table(sobject)[record_id]
        if row["IsDeleted"]:
            return error(404, "ENTITY_IS_DELETED", "entity is deleted")
        if request.method == "GET":
            return JSONResponse(self._row(None, row, list(self.org.schema[sobject]), sobject))
        if request.method == "DELETE":
            self.org.delete(record_id)
        else:
            self.org.update(sobject, row, await self._values(request, sobject))
        return Response(status_code=204)

    async def _upsert_one(self, request: Request) -> Response:
        sobject, field = request.path_params["sobject"], request.path_params["field"]
        record = {**await request.json(), field: request.path_params["value"]}
        record_id, created = self.org.upsert(sobject, field, record)
        return JSONResponse({"id": record_id, "success": True, "errors": [], "created": created},
                            status_code=201 if created else 200)

    async def _upsert_many(self, request: Request) -> Response:
        """sObject Collections upsert: one result per record, in order; allOrNone=false keeps the rest."""
        sobject, field = request.path_params["sobject"], request.path_params["field"]
        body = await request.json()
        records = body.get("records") or []
        if len(records) > COLLECTION_LIMIT:
            return error(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records "
                         "into this call")
        keys = [str(r.get(field)) for r in records]
        results: list[dict[str, Any]] = []
        for record, key in zip(records, keys, strict=True):
            try:
                if keys.count(key) > 1:
                    raise RecordFailure("DUPLICATE_VALUE", f"Duplicate external id specified: {key}", [field])
                if (record.get("attributes") or {}).get("type") != sobject:
                    raise RecordFailure("INVALID_TYPE", "Must send a concrete entity type.")
                record_id, created = self.org.upsert(sobject, field, record)
                results.append({"id": record_id, "success": True, "errors": [], "created": created})
            except RecordFailure as failure:
                if body.get("allOrNone"):
                    return JSONResponse([{"success": False, "errors": [failure.body()]}] * len(records))
                results.append({"success": False, "errors": [failure.body()]})
        return JSONResponse(results)

    async def _update_many(self, request: Request) -> Response:
        """sObject Collections update by Id: one SaveResult per record, in order (allOrNone=false)."""
        body = await request.json()
        records = body.get("records") or []
        if len(records) > COLLECTION_LIMIT:
            return error(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records "
                         "into this call")
        results: list[dict[str, Any]] = []
        for record in records:
            sobject = (record.get("attributes") or {}).get("type")
            try:
                if sobject not in self.org.schema:
                    raise RecordFailure("INVALID_TYPE", "Must send a concrete entity type.")
                results.append({"id": self.org.update_by_id(sobject, record), "success": True, "errors": []})
            except RecordFailure as failure:
                results.append({"id": record.get("Id"), "success": False, "errors": [failure.body()]})
        return JSONResponse(results)

    async def _delete_many(self, request: Request) -> Response:
        ids = [i for i in request.query_params.get("ids", "").split(",") if i]
        if len(ids) > COLLECTION_LIMIT:
            return error(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records "
                         "into this call")
        results: list[dict[str, Any]] = []
        for record_id in ids:
            try:
                self.org.delete(record_id)
                results.append({"id": record_id, "success": True, "errors": []})
            except RecordFailure as failure:
                results.append({"id": record_id, "success": False, "errors": [failure.body()]})
        return JSONResponse(results)

    async def _job_create(self, request: Request) -> Response:
        job = self.jobs.create(await request.json(), request.path_params["version"])
        return JSONResponse(job.info())

    async def _job(self, request: Request) -> Response:
        job = self.jobs.jobs[request.path_params["job_id"]]
        if request.method == "PATCH":
            self.jobs.close(job, str((await request.json()).get("state")))
        return JSONResponse(job.info())

    async def _job_upload(self, request: Request) -> Response:
        if not request.headers.get("content-type", "").startswith("text/csv"):
            return error(400, "INVALIDCONTENTTYPE", "Content-Type must be text/csv")
        self.jobs.upload(self.jobs.jobs[request.path_params["job_id"]], (await request.body()).decode())
        return Response(status_code=201)

    async def _job_results(self, request: Request) -> Response:
        kind = request.path_params["kind"]
        if kind not in {"successfulResults", "failedResults", "unprocessedrecords"}:
            raise KeyError(kind)
        text = self.jobs.results(self.jobs.jobs[request.path_params["job_id"]], kind)
        return Response(text, media_type="text/csv")


def main(argv: list[str] | None = None) -> None:
    """`python -m sandbox.salesforce --accounts N`: serve a seeded sandbox until stdin closes.

    Prints one JSON line with `url`, `ca_file` and `access_token` (used by bench/ to keep the
    sandbox's memory out of the measured process).
    """
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--accounts", type=int, default=0)
    parser.add_argument("--opportunities", type=int, default=0)
    args = parser.parse_args(argv)
    with SalesforceSandbox(api_limit=10_000_000) as sandbox:
        sandbox.seed_accounts(args.accounts)
        partners = [r["Id"] for r in sandbox.records("Account")][:1000]
        sandbox.seed_opportunities(args.opportunities, partners or None)
        print(json.dumps({"url": sandbox.url, "ca_file": sandbox.ca_file, "access_token": sandbox.access_token}),
              flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
