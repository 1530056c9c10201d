"""NetSuite over the REST record API and SuiteQL, signed with token-based auth (OAuth 1.0a, HMAC-SHA256).

Partners are vendors and payouts are vendor bills, both upserted by external id
(`PUT /record/v1/<type>/eid:<id>`), so pushing the same payout twice, or again after a crash before
the answer was processed, updates the one bill. Changes come back through SuiteQL, keyset-paged on
`(lastmodifieddate, id)`: offset paging over rows that change while we read would skip some, and one
SuiteQL query stops at 100,000 rows. Each pull starts by re-reading the cursor's second (timestamps
have one-second precision), so a repeat of the last records is normal and a change is never lost.
"""

from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import requests
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256
from requests_oauthlib import OAuth1

from config.systems import ErpSettings
from connectors.base import (
    AuthError,
    Connector,
    ConnectorError,
    Cursor,
    Page,
    PushResult,
    RateLimited,
    Record,
    RecordError,
    SchemaError,
    each_record,
)
from connectors.erp import suiteql
from connectors.erp.http import loads, send

RECORD_TYPES = {"partner": "vendor", "payout": "vendorBill"}
SOURCES = {"partner": suiteql.VENDOR, "payout": suiteql.VENDOR_BILL}
# REST record fields the sync reads or writes, per record type (check_schema).
REQUIRED_FIELDS = {
    "vendor": ("externalId", "companyName", "email", "phone", "url", "isInactive", "lastModifiedDate"),
    "vendorBill": ("externalId", "entity", "tranDate", "dueDate", "currency", "memo", "expense", "status",
                   "lastModifiedDate"),
}
AMOUNTS = ("total", "amountPaid", "amountRemaining")
_CREDENTIALS = ("account_id", "consumer_key", "consumer_secret", "token_id", "token_secret")


def default_base_url(account_id: str) -> str:
    """The account's own SuiteTalk domain: `1234567_SB1` -> `https://1234567-sb1.suitetalk.api.netsuite.com`."""
    return f"https://{account_id.lower().replace('_', '-')}.suitetalk.api.netsuite.com/services/rest"


def error_of(response: requests.Response) -> RecordError:
    """NetSuite's `o:errorDetails` (the first one names the code and the field path) as a RecordError."""
    try:
        body = loads(response.text)
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    details = body.get("o:errorDetails") or [{}]
    first = details[0] if isinstance(details, list) and isinstance(details[0], dict) else {}
    details = details if isinstance(details, list) else []
    code = str(first.get("o:errorCode") or f"HTTP_{response.status_code}")
    message = "; ".join(str(d.get("detail", "")) for d in details if isinstance(d, dict) and d.get("detail"))
    path = first.get("o:errorPath")
    return RecordError(code, message or str(body.get("title") or response.reason), (str(path),) if path else ())


class NetSuiteConnector(Connector):
    """`NetSuiteConnector(settings.erp)`: entities "partner" (vendor) and "payout" (vendorBill)."""

    system = "netsuite"
    entities = ("partner", "payout")

    def __init__(self, settings: ErpSettings, *, session: requests.Session | None = None) -> None:
        super().__init__()
        ns = settings.netsuite
        missing = [f"erp.netsuite.{name}" for name in _CREDENTIALS if not getattr(ns, name)]
        if missing:
            raise AuthError(f"NetSuite token-based auth needs {', '.join(missing)}")
        assert ns.account_id and ns.consumer_key and ns.consumer_secret and ns.token_id and ns.token_secret
        self.settings = ns
        self.timeout = settings.timeout
        self.attempts = settings.retries
        self.base_url = (settings.base_url or default_base_url(ns.account_id)).rstrip("/")
        self.zone = ZoneInfo(ns.timezone)
        self.currency_ids = dict(ns.currencies)
        self.currency_codes = {internal: code for code, internal in ns.currencies.items()}
        self.session = session or requests.Session()
        self.session.auth = OAuth1(
            ns.consumer_key.get_secret_value(),
            ns.consumer_secret.get_secret_value(),
            ns.token_id.get_secret_value(),
            ns.token_secret.get_secret_value(),
            signature_method=SIGNATURE_HMAC_SHA256,
            realm=ns.account_id.upper().replace("-", "_"),
        )

    # -- transport -------------------------------------------------------------------------------

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One REST call; 401/403 -> AuthError, 429 -> RateLimited, other 4xx -> RecordError."""
        response = send(self.session, method, f"{self.base_url}{path}", usage=self.usage, timeout=self.timeout,
                        attempts=self.attempts, describe=f"NetSuite {method} {path.split('?')[0]}", **kwargs)
        if response.status_code in (401, 403):
            raise AuthError(f"NetSuite refused the credentials ({error_of(response)})")
        if response.status_code == 429:
            retry_after = response.headers.get("Retry-After")
            raise RateLimited(f"NetSuite concurrency limit ({error_of(response)})",
                              float(retry_after) if retry_after and retry_after.isdigit() else None)
        if response.status_code >= 400:
            raise error_of(response)
        return response

    def _record_type(self, entity: str) -> str:
        if entity not in RECORD_TYPES:
            raise ConnectorError(f"NetSuite has no entity {entity!r}; expected one of {', '.join(self.entities)}")
        return RECORD_TYPES[entity]

    # -- pull ------------------------------------------------------------------------------------

    def pull(self, entity: str, cursor: Cursor, *, full: bool = False) -> Iterator[Page]:
        self._record_type(entity)
        source = SOURCES[entity]
        position = Cursor() if full else cursor
        resume = True
        while True:
            body = self._suiteql(suiteql.query(source, position, self.zone, resume=resume))
            resume = False
            rows = [self._row(entity, source, item) for item in body.get("items", [])]
            if rows:
                last = rows[-1]
                position = Cursor(suiteql.parse_stamp(last.pop("_stamp"), self.zone), str(last["id"]))
                for row in rows:
                    row.pop("_stamp", None)
            yield Page(records=rows, deleted=[], cursor=position)
            if not rows or not body.get("hasMore"):
                return

    def _suiteql(self, query: str) -> dict[str, Any]:
        try:
            response = self._call("POST", f"/query/v1/suiteql?limit={self.settings.page_size}&offset=0",
                                  payload={"q": query}, headers={"Prefer": "transient"})
        except RecordError as error:
            raise SchemaError(f"NetSuite rejected the SuiteQL query: {error}") from error
        body = loads(response.text)
        return body if isinstance(body, dict) else {}

    def _row(self, entity: str, source: suiteql.Source, item: dict[str, Any]) -> Record:
        """A SuiteQL row (lower-case columns, nulls left out) in REST record field names."""
        record: Record = {field: item.get(column) for column, field in source.columns.items()}
        record["id"] = str(item["id"])
        record["_stamp"] = str(item["lastmodified"])
        record["lastModifiedDate"] = suiteql.parse_stamp(record["_stamp"], self.zone).isoformat()
        if entity == "partner":
            record["isInactive"] = str(record.get("isInactive")).upper() in {"T", "TRUE"}
            return record
        record["status"] = str(record.get("status") or "").rsplit(":", 1)[-1] or None  # "VendBill:B" -> "B"
        for field in AMOUNTS:
            value = record.get(field)
            record[field] = abs(Decimal(str(value))) if value is not None else Decimal(0)
        if record.get("entity") is not None:
            record["entity"] = {"id": str(record["entity"])}
        if record.get("currency") is not None:
            record["currency"] = self.currency_codes.get(str(record["currency"]), str(record["currency"]))
        return record

    # -- push ------------------------------------------------------------------------------------

    def push(self, entity: str, records: Sequence[Record]) -> list[PushResult]:
        """Upsert each record by its `externalId`; a refused record does not stop the batch."""
        record_type = self._record_type(entity)
        results: list[PushResult] = []
        for record in records:
            key = str(record.get("externalId") or "")
            try:
                if not key:
                    raise RecordError("MISSING_EXTERNAL_ID", f"a {record_type} needs an externalId", ("externalId",))
                body = self._body(entity, record)
                replace = "?replace=expense" if entity == "payout" else ""
                response = self._call("PUT", f"/record/v1/{record_type}/eid:{quote(key, safe='')}{replace}",
                                      payload=body)
            except RecordError as error:
                results.append(PushResult(key=key, success=False, error=error))
                continue
            location = response.headers.get("Location", "")
            results.append(PushResult(key=key, success=True, external_id=location.rstrip("/").rsplit("/", 1)[-1]))
        return results

    def _body(self, entity: str, record: Record) -> Record:
        """The record as NetSuite takes it: account-specific internal ids filled in from the settings."""
        body = {k: v for k, v in record.items() if k not in {"externalId", "id", "lastModifiedDate"}}
        if entity == "partner":
            if self.settings.subsidiary and "subsidiary" not in body:
                body["subsidiary"] = {"id": self.settings.subsidiary}
            return body
        currency = body.get("currency")
        if isinstance(currency, str):
            if currency not in self.currency_ids:
                raise RecordError("UNKNOWN_CURRENCY", f"no NetSuite currency id for {currency!r} in "
                                  "erp.netsuite.currencies", ("currency",))
            body["currency"] = {"id": self.currency_ids[currency]}
        lines = body.get("expense", {}).get("items", [])
        for line in lines:
            line.setdefault("account", {"id": self.settings.expense_account})
        return body

    def archive(self, entity: str, ids: Sequence[str]) -> list[PushResult]:
        """Vendors are made inactive; bills are never deleted by the sync (finance voids them in NetSuite)."""
        record_type = self._record_type(entity)

        def inactivate(internal_id: str) -> None:
            if entity != "partner":
                raise RecordError("NOT_ARCHIVABLE", "vendor bills are voided in NetSuite, not by the sync")
            self._call("PATCH", f"/record/v1/{record_type}/{quote(internal_id, safe='')}",
                       payload={"isInactive": True})

        return each_record(ids, inactivate)

    # -- schema ----------------------------------------------------------------------------------

    def check_schema(self) -> list[str]:
        """Record fields from the metadata catalog, plus the expense account and currencies configured."""
        missing: list[str] = []
        for record_type, fields in REQUIRED_FIELDS.items():
            try:
                response = self._call("GET", f"/record/v1/metadata-catalog/{record_type}",
                                      headers={"Accept": "application/schema+json"})
            except RecordError:
                missing.append(record_type)
                continue
            properties = loads(response.text).get("properties", {})
            missing.extend(f"{record_type}.{field}" for field in fields if field not in properties)
        references = [("account", self.settings.expense_account)]
        references += [("currency", internal) for internal in self.currency_ids.values()]
        for record_type, internal_id in references:
            try:
                self._call("GET", f"/record/v1/{record_type}/{quote(internal_id, safe='')}")
            except RecordError:
                missing.append(f"{record_type}/{internal_id}")
        return missing
