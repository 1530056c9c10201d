"""Salesforce: incremental pull on SystemModstamp, upsert by external id, limits and re-authentication.

Pulls go through `queryAll` so deleted rows arrive (`IsDeleted`), ordered by `(SystemModstamp, Id)`
and resumed after the cursor with a tie-break on Id, one `nextRecordsUrl` batch at a time. Every
value put into SOQL is quoted by simple-salesforce's `format_soql`; object and field names come
from settings, which accept API-name characters only. Pushes upsert 200 records a call through the
sObject Collections API (`allOrNone=false`, one result per record), or one Bulk API 2.0 job above
`bulk_threshold`.
"""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError, SalesforceExpiredSession, SalesforceResourceNotFound
from simple_salesforce.format import format_soql

from config.systems import SalesforceSettings
from connectors import salesforce_auth, salesforce_bulk
from connectors.base import AuthError, Connector, ConnectorError, Cursor, Page, PushResult, Record, RecordError
from connectors.retry import call_with_retries
from connectors.salesforce_http import CountingSession, is_transient, translate

T = TypeVar("T")
SYSTEM_FIELDS = ("Id", "SystemModstamp", "IsDeleted")
LINE_ITEMS = "(SELECT Id, Quantity, TotalPrice, Product2.Name, Product2.Family FROM OpportunityLineItems)"


class SalesforceConnector(Connector):
    system = "salesforce"
    entities = ("partner", "deal")

    def __init__(self, settings: SalesforceSettings) -> None:
        super().__init__()
        self.settings = settings
        self.session = CountingSession(self.usage, timeout=settings.timeout_seconds, verify=settings.verify_tls)
        self._sf: Salesforce | None = None

    # -- session ---------------------------------------------------------------------------------

    def _connect(self, *, refresh: bool = False) -> Salesforce:
        token, instance_url = call_with_retries(
            partial(salesforce_auth.login, self.settings, self.session, refresh=refresh),
            is_transient=is_transient, attempts=self.settings.retry_attempts, describe="salesforce login")
        self._sf = Salesforce(session_id=token, instance_url=instance_url, version=self.settings.api_version,
                              session=self.session)
        return self._sf

    def call(self, fn: Callable[[Salesforce], T], describe: str) -> T:
        """Run one API call: transient failures retried, one re-login on an expired session."""
        try:
            return self._attempt(fn, describe)
        except SalesforceExpiredSession as exc:
            if not salesforce_auth.can_refresh(self.settings):
                raise AuthError(f"salesforce {describe}: session expired or invalid") from exc
        self._connect(refresh=True)
        try:
            return self._attempt(fn, describe)
        except SalesforceExpiredSession as exc:
            raise AuthError(f"salesforce {describe}: session expired or invalid right after a new login") from exc

    def _attempt(self, fn: Callable[[Salesforce], T], describe: str) -> T:
        sf = self._sf or self._connect()
        try:
            return call_with_retries(partial(fn, sf), is_transient=is_transient,
                                     attempts=self.settings.retry_attempts, describe=f"salesforce {describe}")
        except SalesforceExpiredSession:
            raise
        except SalesforceError as exc:
            raise translate(exc, describe) from exc

    def restful(self, describe: str, path: str, **kwargs: Any) -> Any:
        """`sf.restful(path, ...)` through `call`: JSON in, JSON out."""
        return self.call(lambda sf: sf.restful(path, **kwargs), describe)

    # -- pull ------------------------------------------------------------------------------------

    def soql(self, entity: str, cursor: Cursor) -> str:
        """The pull query after `cursor` (from the beginning when the cursor is empty)."""
        s = self.settings
        fields = list(dict.fromkeys([*SYSTEM_FIELDS, *s.read_fields(entity)]))
        if entity == "deal" and s.products_mode == "line_items":
            fields.append(LINE_ITEMS)
        # Records we wrote carry our external id: they stay in scope even where the filter cannot be
        # written through the API (Account.IsPartner is set by enabling a partner, not by an upsert).
        scope = s.partner_filter if entity == "partner" else s.deal_filter
        conditions = [f"(({scope}) OR {s.external_id_field} != null)"] if scope else []
        if cursor.modified_at is not None:
            conditions.append(format_soql("(SystemModstamp > {at} OR (SystemModstamp = {at} AND Id > {id}))",
                                          at=cursor.modified_at, id=cursor.last_id or ""))
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        return f"SELECT {', '.join(fields)} FROM {s.object_for(entity)}{where} ORDER BY SystemModstamp, Id"

    def pull(self, entity: str, cursor: Cursor, *, full: bool = False) -> Iterator[Page]:
        query = self.soql(entity, Cursor() if full else cursor)
        options = {"Sforce-Query-Options": f"batchSize={self.settings.query_page_size}"}
        result = self.call(lambda sf: sf.query(query, include_deleted=True, headers=options), f"queryAll {entity}")
        read_at = self.usage.clock  # the query's own moment: queryMore pages come from that one result
        while True:
            page = _page(result.get("records", []), replace(cursor, read_at=read_at))
            end = result.get("done", True) or not result.get("nextRecordsUrl")
            if page.records or page.deleted or end:  # the last page, even empty, reports when it was read
                cursor = page.cursor
                yield page
            if end:
                return
            result = self.call(partial(_more, locator=str(result["nextRecordsUrl"]), headers=options),
                               f"queryMore {entity}")

    # -- push ------------------------------------------------------------------------------------

    def push(self, entity: str, records: Sequence[Record]) -> list[PushResult]:
        """Records carrying their Salesforce `Id` are updated by Id (sObject Collections update: how our id
        is stamped on a record made in Salesforce); the rest are upserted by the external id field."""
        sobject, ext = self.settings.object_for(entity), self.settings.external_id_field
        results = [PushResult(str(r.get(ext) or ""), False, error=RecordError(
            "MISSING_EXTERNAL_ID", f"{sobject} record has no {ext} value", (ext,))) for r in records if not r.get(ext)]
        known = [r for r in records if r.get(ext) and r.get("Id")]
        ready = [r for r in records if r.get(ext) and not r.get("Id")]
        for chunk in _chunks(known, self.settings.push_batch_size):
            body = {"allOrNone": False, "records": [{"attributes": {"type": sobject}, **r} for r in chunk]}
            answer = self.restful(f"update {sobject}", "composite/sobjects", method="PATCH", json=body)
            results += [_result(str(record[ext]), item) for record, item in zip(chunk, answer or [], strict=True)]
        if len(ready) > self.settings.bulk_threshold:
            return results + salesforce_bulk.upsert(self, self.settings, sobject, ready)
        path = f"composite/sobjects/{sobject}/{ext}"
        for chunk in _chunks(ready, self.settings.push_batch_size):
            body = {"allOrNone": False, "records": [{"attributes": {"type": sobject}, **r} for r in chunk]}
            answer = self.restful(f"upsert {sobject}", path, method="PATCH", json=body)
            results += [_result(str(record[ext]), item) for record, item in zip(chunk, answer or [], strict=True)]
        return results

    def archive(self, entity: str, ids: Sequence[str]) -> list[PushResult]:
        """Delete by Salesforce Id (to the recycle bin: Salesforce's own archive), 200 ids a call."""
        sobject = self.settings.object_for(entity)
        results: list[PushResult] = []
        for chunk in _chunks(ids, self.settings.push_batch_size):
            params = {"ids": ",".join(chunk), "allOrNone": "false"}
            answer = self.restful(f"delete {sobject}", "composite/sobjects", params=params, method="DELETE")
            results += [_result(record_id, item) for record_id, item in zip(chunk, answer or [], strict=True)]
        return results

    # -- schema ----------------------------------------------------------------------------------

    def check_schema(self) -> list[str]:
        """Missing objects as `Object`, missing fields as `Object.Field` (custom fields included)."""
        missing: list[str] = []
        for entity in self.entities:
            sobject = self.settings.object_for(entity)
            try:
                described = self.restful(f"describe {sobject}", f"sobjects/{sobject}/describe")
            except ConnectorError as exc:
                if isinstance(exc.__cause__, SalesforceResourceNotFound):
                    missing.append(sobject)
                    continue
                raise
            present = {f["name"] for f in described.get("fields", [])}
            wanted = [*SYSTEM_FIELDS, *self.settings.read_fields(entity), *self.settings.write_only_fields(entity)]
            missing += [f"{sobject}.{name}" for name in dict.fromkeys(wanted) if name not in present]
        return missing


def _more(sf: Salesforce, *, locator: str, headers: dict[str, str]) -> Any:
    return sf.query_more(locator, identifier_is_url=True, headers=headers)


def _page(rows: list[dict[str, Any]], cursor: Cursor) -> Page:
    records: list[Record] = []
    deleted: list[str] = []
    for row in rows:
        if row.get("IsDeleted"):
            deleted.append(str(row["Id"]))
        else:
            records.append(plain(row))
    if rows:
        last = rows[-1]
        cursor = Cursor(_timestamp(str(last["SystemModstamp"])), str(last["Id"]), cursor.read_at)
    return Page(records, deleted, cursor)


def plain(value: Any) -> Any:
    """A query row as plain dicts and lists, without Salesforce's `attributes`."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k != "attributes"}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _timestamp(text: str) -> datetime:
    """`2026-01-02T03:04:05.000+0000` (Salesforce's format) as an aware UTC datetime."""
    return datetime.fromisoformat(text).astimezone(UTC)


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _result(key: str, item: dict[str, Any]) -> PushResult:
    errors = item.get("errors") or []
    if item.get("success"):
        return PushResult(key, True, item.get("id"), bool(item.get("created")))
    first = errors[0] if errors else {}
    error = RecordError(str(first.get("statusCode", "UNKNOWN_ERROR")), str(first.get("message", "")),
                        tuple(first.get("fields") or ()))
    return PushResult(key, False, item.get("id"), error=error)
