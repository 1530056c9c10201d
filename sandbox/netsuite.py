"""In-memory NetSuite: the REST record API (vendor, vendorBill, account, currency), SuiteQL and TBA.

Follows NetSuite's public docs where a client can get it wrong: every request is signed with OAuth 1.0a
HMAC-SHA256 (realm = account id, query parameters signed, realm not), upsert is `PUT .../eid:<id>`
answering 204 with a Location header, sublists merge unless `?replace=<sublist>`, errors carry
`o:errorDetails`, SuiteQL needs `Prefer: transient`, pages by limit (max 1000) and an offset that is a
multiple of it, stops at 100,000 rows, and shows datetimes in the user's time zone.
Operator actions (tests, demo): `pay`, `close_period`, `bills`, `delete_vendor`.
"""

import base64
import hashlib
import hmac
import itertools
import threading
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, unquote
from zoneinfo import ZoneInfo

from oauthlib.oauth1.rfc5849 import signature, utils
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from connectors.erp.http import dumps, loads
from sandbox import suiteql
from sandbox.erp_ops import operator_routes
from sandbox.faults import FaultMiddleware, Faults

Rec = dict[str, Any]
_VENDOR_FIELDS = {"companyName", "email", "phone", "url", "taxIdNum", "isInactive", "subsidiary", "isPerson"}
_BILL_FIELDS = {"entity", "tranDate", "dueDate", "currency", "memo", "expense", "approvalStatus"}
_COLUMNS = {
    "vendor": {"id", "externalid", "companyname", "email", "phone", "url", "taxidnum", "isinactive",
               "lastmodifieddate", "datecreated"},
    "transaction": {"id", "externalid", "tranid", "type", "entity", "currency", "status", "foreigntotal",
                    "foreignamountpaid", "foreignamountunpaid", "memo", "trandate", "duedate", "closedate",
                    "lastmodifieddate", "createddate"},
}
_STATUS_TEXT = {"A": "Open", "B": "Paid In Full", "C": "Cancelled", "D": "Pending Approval", "E": "Rejected"}
MAX_RESULTS = 100_000


class NetSuiteError(Exception):
    def __init__(self, status: int, code: str, detail: str, path: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.path = status, code, detail, path

    def response(self) -> Response:
        item: Rec = {"detail": self.detail, "o:errorCode": self.code}
        if self.path:
            item["o:errorPath"] = self.path
        titles = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests"}
        body = {"type": f"https://www.rfc-editor.org/rfc/rfc9110.html#status.{self.status}",
                "title": titles.get(self.status, "Error"), "status": self.status, "o:errorDetails": [item]}
        return Response(dumps(body), status_code=self.status, media_type="application/vnd.oracle.resource+json")


def concurrency_fault() -> bytes:
    """The body NetSuite answers with when the account's concurrency limit is exceeded (429)."""
    error = NetSuiteError(429, "CONCURRENCY_LIMIT_EXCEEDED", "Request was rejected because concurrency limit "
                          "for the account was exceeded.")
    return bytes(error.response().body)


class NetSuiteSandbox:
    """`NetSuiteSandbox(account_id=..., consumer_key=..., ...)`; serve `.app` with `SandboxServer`."""

    def __init__(self, *, account_id: str = "1234567_SB1", consumer_key: str = "ck", consumer_secret: str = "cs",
                 token_id: str = "tk", token_secret: str = "ts", timezone: str = "UTC",
                 expense_accounts: tuple[str, ...] = ("6100",), currencies: dict[str, str] | None = None) -> None:
        self.realm = account_id
        self.consumer = (consumer_key, consumer_secret)
        self.token = (token_id, token_secret)
        self.zone = ZoneInfo(timezone)
        self.lock = threading.RLock()
        self.ids = itertools.count(100)
        self.vendors: dict[str, Rec] = {}
        self.bills: dict[str, Rec] = {}
        self.payments: dict[str, Rec] = {}
        self.accounts = {number: {"id": number, "acctNumber": number} for number in expense_accounts}
        self.currencies = {internal: {"id": internal, "symbol": code}
                           for code, internal in (currencies or {"USD": "1", "EUR": "2"}).items()}
        self.closed_periods: set[str] = set()
        self.nonces: set[tuple[str, str]] = set()
        self.faults = Faults()
        routes = [
            Route("/services/rest/query/v1/suiteql", self._suiteql, methods=["POST"]),
            Route("/services/rest/record/v1/metadata-catalog/{kind}", self._catalog, methods=["GET"]),
            Route("/services/rest/record/v1/{kind}/{key}", self._record, methods=["GET", "PUT", "PATCH"]),
            *operator_routes(self.bill_list, self.pay, self.close_period),
        ]
        self.app = FaultMiddleware(Starlette(routes=routes), self.faults)

    # -- operator actions ------------------------------------------------------------------------

    def pay(self, bill_id: str, amount: Decimal | None = None, *, on: date | None = None) -> Rec:
        """Pay a bill fully (amount None) or partly: a vendorPayment applied to it."""
        with self.lock:
            bill = self.bills[bill_id]
            paid = bill["amountRemaining"] if amount is None else Decimal(amount)
            if paid <= 0 or paid > bill["amountRemaining"]:
                raise ValueError(f"payment {paid} does not fit the {bill['amountRemaining']} remaining")
            when = on or datetime.now(UTC).date()
            payment = {"id": str(next(self.ids)), "entity": bill["entity"], "tranDate": when, "amount": paid,
                       "apply": bill_id}
            self.payments[payment["id"]] = payment
            bill["amountPaid"] += paid
            bill["amountRemaining"] -= paid
            if bill["amountRemaining"] == 0:
                bill["status"], bill["closeDate"] = "B", when
            self._touch(bill)
            return payment

    def adjust(self, bill_id: str, delta: Decimal) -> None:
        """Finance edits a bill's total by hand: `reconcile` then lists an amount difference."""
        with self.lock:
            bill = self.bills[bill_id]
            bill["total"] += delta
            bill["amountRemaining"] += delta
            self._touch(bill)

    def close_period(self, period: str) -> None:
        """Close an accounting period (`YYYY-MM`): bills dated in it are refused."""
        with self.lock:
            self.closed_periods.add(period)

    def delete_vendor(self, vendor_id: str) -> None:
        with self.lock:
            self.vendors.pop(vendor_id, None)

    def bill_list(self) -> list[Rec]:
        with self.lock:
            return [dict(bill) for bill in self.bills.values()]

    def bill_by_external_id(self, external_id: str) -> Rec | None:
        with self.lock:
            return next((dict(b) for b in self.bills.values() if b.get("externalId") == external_id), None)

    # -- auth ------------------------------------------------------------------------------------

    def _authenticate(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        invalid = NetSuiteError(401, "INVALID_LOGIN", "Invalid login attempt. For more details, see the Login "
                                "Audit Trail in the NetSuite UI at Setup > Users/Roles > User Management > View "
                                "Login Audit Trail.")
        if not header.startswith("OAuth "):
            raise invalid
        params = {k: utils.unescape(v) for k, v in utils.parse_authorization_header(header)}
        if (params.get("realm") != self.realm or params.get("oauth_consumer_key") != self.consumer[0]
                or params.get("oauth_token") != self.token[0]
                or params.get("oauth_signature_method") != "HMAC-SHA256"
                or params.get("oauth_version", "1.0") != "1.0"):
            raise invalid
        stamp, nonce = params.get("oauth_timestamp", ""), params.get("oauth_nonce", "")
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > 300 or len(nonce) < 6:
            raise invalid
        query = request.url.query
        collected = signature.collect_parameters(uri_query=query, headers={"Authorization": header},
                                                 exclude_oauth_signature=True, with_realm=False)
        uri = f"{request.url.scheme}://{request.headers['host']}{request.scope.get('root_path', '')}"
        uri += request.scope["raw_path"].decode()
        base = signature.signature_base_string(request.method, signature.base_string_uri(uri),
                                               signature.normalize_parameters(collected))
        key = f"{utils.escape(self.consumer[1])}&{utils.escape(self.token[1])}"
        expected = base64.b64encode(hmac.new(key.encode(), base.encode(), hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(expected, params.get("oauth_signature", "")):
            raise invalid
        with self.lock:
            if (stamp, nonce) in self.nonces:
                raise invalid
            self.nonces.add((stamp, nonce))

    async def _guard(self, request: Request) -> bytes:
        body = await request.body()
        self._authenticate(request)
        return body

    # -- records ---------------------------------------------------------------------------------

    def _touch(self, record: Rec) -> None:
        record["lastModifiedDate"] = datetime.now(UTC).replace(microsecond=0)

    async def _record(self, request: Request) -> Response:
        try:
            body = await self._guard(request)
            kind, key = request.path_params["kind"], unquote(request.path_params["key"])
            with self.lock:
                if request.method == "GET":
                    return JSONResponse(self._get(kind, key))
                data = loads(body.decode() or "{}")
                if not isinstance(data, dict):
                    raise NetSuiteError(400, "INVALID_CONTENT", "The request body must be a JSON object.")
                replace = {s for s in dict(parse_qsl(request.url.query)).get("replace", "").split(",") if s}
                internal = self._write(kind, key, data, replace, upsert=request.method == "PUT")
            return Response(status_code=204, headers={
                "Location": f"{request.url.scheme}://{request.headers['host']}/services/rest/record/v1/{kind}/{internal}"})
        except NetSuiteError as error:
            return error.response()

    def _table(self, kind: str) -> dict[str, Rec]:
        tables = {"vendor": self.vendors, "vendorBill": self.bills, "account": self.accounts,
                  "currency": self.currencies, "vendorPayment": self.payments}
        if kind not in tables:
            raise NetSuiteError(404, "NONEXISTENT_ID", f"Record type '{kind}' does not exist.")
        return tables[kind]

    def _find(self, kind: str, key: str) -> Rec | None:
        table = self._table(kind)
        if key.startswith("eid:"):
            return next((r for r in table.values() if r.get("externalId") == key[4:]), None)
        return table.get(key)

    def _get(self, kind: str, key: str) -> Rec:
        record = self._find(kind, key)
        if record is None:
            raise NetSuiteError(404, "NONEXISTENT_ID", "The record instance does not exist. Provide a valid "
                                "record instance ID.", None)
        return loads(dumps(self._shown(kind, record)))

    def _shown(self, kind: str, record: Rec) -> Rec:
        shown = {k: (v.isoformat().replace("+00:00", "Z") if isinstance(v, datetime) else
                     v.isoformat() if isinstance(v, date) else v) for k, v in record.items()}
        if kind == "vendorBill":
            shown["status"] = {"id": record["status"], "refName": _STATUS_TEXT[record["status"]]}
            shown["total"] = record["total"]
        return shown

    def _write(self, kind: str, key: str, data: Rec, replace: set[str], *, upsert: bool) -> str:
        if kind not in {"vendor", "vendorBill"}:
            raise NetSuiteError(400, "INVALID_OPERATION", f"Writing '{kind}' records is not supported.")
        if upsert and not key.startswith("eid:"):
            raise NetSuiteError(400, "INVALID_OPERATION", "Upsert requires an external ID in the URL (eid:).")
        allowed = _VENDOR_FIELDS if kind == "vendor" else _BILL_FIELDS
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise NetSuiteError(400, "INVALID_KEY_OR_REF", f"Invalid field name: '{unknown[0]}'.", unknown[0])
        existing = self._find(kind, key)
        if existing is None and not upsert:
            raise NetSuiteError(404, "NONEXISTENT_ID", "The record instance does not exist.")
        record = existing if existing is not None else {"externalId": key[4:]}
        if kind == "vendor":
            if existing is None and not data.get("companyName"):
                raise NetSuiteError(400, "USER_ERROR", "Please enter value(s) for: Company Name", "companyName")
            record.update(data)
        else:
            self._write_bill(record, data, "expense" in replace)
        if existing is None:
            record["id"] = str(next(self.ids))
            self._table(kind)[record["id"]] = record
        self._touch(record)
        return str(record["id"])

    def _write_bill(self, bill: Rec, data: Rec, replace_lines: bool) -> None:
        vendor_id = str((data.get("entity") or bill.get("entity") or {}).get("id", ""))
        if vendor_id not in self.vendors:
            raise NetSuiteError(400, "INVALID_VALUE", "Invalid value for the resource or sub-resource field "
                                "'entity'. Provide a valid value.", "entity")
        currency = str((data.get("currency") or bill.get("currency") or {"id": "1"}).get("id", ""))
        if currency not in self.currencies:
            raise NetSuiteError(400, "INVALID_VALUE", "Invalid value for the resource or sub-resource field "
                                "'currency'. Provide a valid value.", "currency")
        try:
            tran_date = date.fromisoformat(str(data.get("tranDate") or bill.get("tranDate") or date.today()))
            due = data.get("dueDate") or bill.get("dueDate")
            due_date = date.fromisoformat(str(due)) if due else None
        except ValueError as error:
            raise NetSuiteError(400, "INVALID_VALUE", f"Invalid date: {error}", "tranDate") from error
        if f"{tran_date:%Y-%m}" in self.closed_periods:
            raise NetSuiteError(400, "USER_ERROR", f"The accounting period {tran_date:%b %Y} is closed. You "
                                "cannot post a transaction to a closed period.", "tranDate")
        lines = list(bill.get("expense", [])) if not replace_lines else []
        for index, line in enumerate((data.get("expense") or {}).get("items", [])):
            account = str((line.get("account") or {}).get("id", ""))
            if account not in self.accounts:
                raise NetSuiteError(400, "INVALID_VALUE", "Invalid value for the resource or sub-resource field "
                                    "'account'. Provide a valid value.", f"expense.items[{index}].account")
            amount = line.get("amount")
            if not isinstance(amount, Decimal | int) or isinstance(amount, bool) or amount == 0:
                raise NetSuiteError(400, "INVALID_VALUE", "Invalid value for the resource or sub-resource field "
                                    "'amount'. Provide a valid value.", f"expense.items[{index}].amount")
            lines.append({"account": {"id": account}, "amount": Decimal(amount), "memo": line.get("memo")})
        if not lines:
            raise NetSuiteError(400, "USER_ERROR", "You must enter at least one line item for this transaction.",
                                "expense")
        total = sum((line["amount"] for line in lines), Decimal(0))
        if total <= 0:
            raise NetSuiteError(400, "USER_ERROR", "The total of a vendor bill must be greater than zero; "
                                "enter a bill credit instead.", "expense")
        paid = bill.get("amountPaid", Decimal(0))
        if total < paid:
            raise NetSuiteError(400, "USER_ERROR", "The bill total cannot be less than the amount paid.", "expense")
        bill.update({"entity": {"id": vendor_id}, "currency": {"id": currency}, "tranDate": tran_date,
                     "dueDate": due_date, "memo": data.get("memo", bill.get("memo")), "expense": lines,
                     "total": total, "amountPaid": paid, "amountRemaining": total - paid})
        bill.setdefault("tranId", f"BILL{len(self.bills) + 1:05d}")
        bill["status"] = "B" if total == paid else "A"
        bill.setdefault("closeDate", None)

    async def _catalog(self, request: Request) -> Response:
        try:
            await self._guard(request)
            kind = request.path_params["kind"]
            fields = {"vendor": _VENDOR_FIELDS, "vendorBill": _BILL_FIELDS | {"status", "total"}}.get(kind)
            if fields is None:
                raise NetSuiteError(404, "NONEXISTENT_ID", f"Record type '{kind}' does not exist.")
            properties = {name: {"type": "object"} for name in fields | {"id", "externalId", "lastModifiedDate"}}
            return Response(dumps({"type": "object", "properties": properties}),
                            media_type="application/schema+json")
        except NetSuiteError as error:
            return error.response()

    # -- SuiteQL ---------------------------------------------------------------------------------

    def _rows(self, table: str) -> list[Rec]:
        if table == "vendor":
            return [{"id": v["id"], "externalid": v.get("externalId"), "companyname": v.get("companyName"),
                     "email": v.get("email"), "phone": v.get("phone"), "url": v.get("url"),
                     "taxidnum": v.get("taxIdNum"), "isinactive": bool(v.get("isInactive")),
                     "lastmodifieddate": v["lastModifiedDate"]} for v in self.vendors.values()]
        if table == "transaction":
            return [{"id": b["id"], "externalid": b.get("externalId"), "tranid": b["tranId"], "type": "VendBill",
                     "entity": b["entity"]["id"], "currency": b["currency"]["id"], "status": b["status"],
                     "foreigntotal": b["total"], "foreignamountpaid": b["amountPaid"],
                     "foreignamountunpaid": b["amountRemaining"], "memo": b.get("memo"),
                     "trandate": b["tranDate"], "duedate": b.get("dueDate"), "closedate": b.get("closeDate"),
                     "lastmodifieddate": b["lastModifiedDate"]} for b in self.bills.values()]
        raise suiteql.QueryError(f"Invalid search query: record '{table}' was not found")

    async def _suiteql(self, request: Request) -> Response:
        try:
            body = await self._guard(request)
            if "transient" not in request.headers.get("prefer", ""):
                raise NetSuiteError(400, "INVALID_HEADER", "SuiteQL queries require the 'Prefer: transient' "
                                    "header.")
            params = dict(parse_qsl(request.url.query))
            limit, offset = int(params.get("limit", "1000")), int(params.get("offset", "0"))
            if not 1 <= limit <= 1000 or offset < 0 or offset % limit:
                raise NetSuiteError(400, "INVALID_PARAMETER", "Invalid paging: limit must be 1 to 1000 and the "
                                    "offset a multiple of the limit.", "offset")
            query = loads(body.decode() or "{}").get("q")
            if not isinstance(query, str):
                raise NetSuiteError(400, "INVALID_PARAMETER", "The request body must contain the query as 'q'.")
            with self.lock:
                table = suiteql.table_of(query)
                found = suiteql.run(query, self._rows(table), _COLUMNS.get(table, set()), self.zone)
            if offset >= MAX_RESULTS:
                raise NetSuiteError(400, "INVALID_PARAMETER", "A SuiteQL query returns at most 100000 results.")
            page = found[offset:offset + limit]
            has_more = offset + limit < min(len(found), MAX_RESULTS)
            base = f"{request.url.scheme}://{request.headers['host']}{request.url.path}"
            links = [{"rel": "self", "href": f"{base}?limit={limit}&offset={offset}"}]
            if has_more:
                links.append({"rel": "next", "href": f"{base}?limit={limit}&offset={offset + limit}"})
            for item in page:
                item["links"] = []
            return Response(dumps({"links": links, "count": len(page), "hasMore": has_more, "items": page,
                                   "offset": offset, "totalResults": len(found)}),
                            media_type="application/vnd.oracle.resource+json")
        except suiteql.QueryError as error:
            return NetSuiteError(400, "INVALID_PARAMETER", str(error)).response()
        except NetSuiteError as error:
            return error.response()
