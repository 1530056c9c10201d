"""HubSpot: CRM search past the 10,000-result cap, archived records, batch upsert, v4 associations, limits.

Pulls search on `hs_lastmodifieddate` ascending, 200 a page. HubSpot stops a search at 10,000 results,
so before `after` would pass the cap the window restarts at the last timestamp seen (GTE), skipping the
ids already read at that timestamp. Archived records come from the list API (`archived=true`) and are
reported as deletions. Calls go through hubspot-api-client (urllib3) with `_preload_content=False`, so
we read the JSON and the `X-HubSpot-RateLimit-*` headers ourselves; every package's ApiException is
mapped by status code in `_call`.
"""

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import urllib3
from hubspot import HubSpot
from hubspot.crm.associations.v4.exceptions import ApiException as AssociationsError
from hubspot.crm.companies.exceptions import ApiException as CompaniesError
from hubspot.crm.deals.exceptions import ApiException as DealsError
from hubspot.crm.properties.exceptions import ApiException as PropertiesError

from config.systems import HubSpotSettings
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
)
from connectors.retry import call_with_retries

API_ERRORS = (CompaniesError, DealsError, AssociationsError, PropertiesError)
OBJECTS = {"partner": "companies", "deal": "deals"}
MODIFIED = "hs_lastmodifieddate"
SEARCH_CAP = 10_000
PARTNER_KEY = "partner_company_id"
PROPERTIES = {
    "partner": ["name", "domain", "phone", "address", "city", "zip", "country", "partnersync_tax_id",
                "partnersync_tier"],
    "deal": ["dealname", "amount", "deal_currency_code", "dealstage", "closedate", "hubspot_owner_id", "createdate",
             "partnersync_customer_name", "partnersync_customer_domain", "partnersync_customer_country",
             "partnersync_products", "partnersync_registration_status", "partnersync_conflict_reason",
             "partnersync_expires_at"],
}
# Incentive figures partnersync writes and never reads back (the hub computes them).
WRITE_ONLY = {"partner": ["partnersync_accrued_ytd", "partnersync_paid_ytd", "partnersync_last_payout_at"],
              "deal": ["partnersync_incentive_amount", "partnersync_incentive_status"]}


class _Transient(Exception):
    """A 5xx, timeout or reset worth another try."""


class HubSpotConnector(Connector):
    system = "hubspot"
    entities = ("partner", "deal")

    def __init__(self, settings: HubSpotSettings) -> None:
        super().__init__()
        if settings.access_token is None:
            raise AuthError("hubspot.access_token is not set (a private app token)")
        self.settings = settings
        self.client = HubSpot(access_token=settings.access_token.get_secret_value(), host=settings.base_url.rstrip("/"),
                              retry=urllib3.util.Retry(total=0, raise_on_status=False))

    # -- transport ---------------------------------------------------------------------------------

    def _call(self, describe: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """One API call: transient failures retried, ApiException of any package mapped by status."""

        def attempt() -> Any:
            self.usage.calls += 1
            try:
                response = fn(*args, _preload_content=False, **kwargs)
            except API_ERRORS as exc:
                self._read_limits(exc.headers or {})
                if exc.status in (0, 502, 503, 504) or exc.status >= 500:
                    raise _Transient(f"{exc.status} {exc.reason}") from exc
                raise self._translate(describe, exc) from exc
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                raise _Transient(str(exc)) from exc
            raw = response[0] if isinstance(response, tuple) else response
            self._read_limits(raw.headers)
            self.usage.read_clock(raw.headers)
            return json.loads(raw.data) if raw.data else None

        return call_with_retries(attempt, is_transient=lambda e: isinstance(e, _Transient),
                                 describe=f"hubspot {describe}")

    def _translate(self, describe: str, exc: Any) -> ConnectorError:
        body = _json(exc.body)
        message = f"hubspot {describe}: {exc.status} {body.get('message') or exc.reason}"
        if exc.status == 429:
            retry_after = (exc.headers or {}).get("Retry-After")
            return RateLimited(message, float(retry_after) if retry_after else 10.0)
        if exc.status in (401, 403):
            return AuthError(message)
        return ConnectorError(message)

    def _read_limits(self, headers: Any) -> None:
        daily, remaining = headers.get("X-HubSpot-RateLimit-Daily"), headers.get("X-HubSpot-RateLimit-Daily-Remaining")
        if daily and remaining:
            self.usage.limit, self.usage.remaining = int(daily), int(remaining)
            self.usage.used = int(daily) - int(remaining)

    def _api(self, entity: str) -> Any:
        return getattr(self.client.crm, OBJECTS[entity])

    # -- pull --------------------------------------------------------------------------------------

    def pull(self, entity: str, cursor: Cursor, *, full: bool = False) -> Iterator[Page]:
        """Search pages, then archived records when `archived_every_seconds` have passed on HubSpot's clock
        since they were last listed (the list cannot be filtered by time, so each check reads it all)."""
        start = last = Cursor() if full else cursor
        for page in self._search(entity, start):
            last = page.cursor
            yield page
        read_at, every = last.read_at, timedelta(seconds=self.settings.archived_every_seconds)
        if full or start.deletes_at is None or read_at is None or read_at - start.deletes_at >= every:
            since = None if full else min(filter(None, (start.modified_at, start.deletes_at)), default=None)
            yield Page([], self._archived(entity, since), replace(last, deletes_at=read_at))

    def _search(self, entity: str, cursor: Cursor) -> Iterator[Page]:
        api = self._api(entity).search_api
        props = [*PROPERTIES[entity], self.settings.id_property, MODIFIED]
        since, skip = cursor.modified_at, set[str]()
        done = _number(cursor.last_id)  # at the cursor's own timestamp, ids up to this one were read
        window, after, read_at = since, 0, None
        position = Cursor(cursor.modified_at, cursor.last_id)
        while True:
            body: dict[str, Any] = {"sorts": [{"propertyName": MODIFIED, "direction": "ASCENDING"}],
                                    "properties": props, "limit": self.settings.search_page_size}
            if window is not None:
                body["filterGroups"] = [{"filters": [{"propertyName": MODIFIED, "operator": "GTE",
                                                      "value": str(int(window.timestamp() * 1000))}]}]
            if after:
                body["after"] = str(after)
            answer = self._call(f"search {entity}", api.do_search_with_http_info, public_object_search_request=body)
            read_at = read_at or self.usage.clock  # the first search's moment: later pages only go further
            rows = answer.get("results") or []
            records = [self._record(row) for row in rows
                       if not (_stamp(row) == since and (row["id"] in skip or _number(row["id"]) <= done))]
            if entity == "deal" and records:
                self._partners(records)
            for row in rows:
                stamp = _stamp(row)
                if stamp != since:
                    since, skip, done = stamp, set(), -1
                skip.add(row["id"])
            if rows:
                position = Cursor(since, rows[-1]["id"])
            nxt = ((answer.get("paging") or {}).get("next") or {}).get("after")
            if records or not nxt:  # the last page, even empty, reports when the stream was read
                yield Page(records, [], replace(position, read_at=read_at))
            if not nxt:
                return
            after = int(nxt)
            if after + self.settings.search_page_size > SEARCH_CAP:
                if len(skip) >= SEARCH_CAP:
                    raise ConnectorError(f"hubspot search {entity}: over {SEARCH_CAP} records share one "
                                         f"{MODIFIED}; cannot page past them")
                window, after = since, 0  # a new window from the last timestamp read, skipping ids read at it

    def _record(self, row: dict[str, Any]) -> Record:
        return {"id": str(row["id"]), **(row.get("properties") or {})}

    def _partners(self, records: list[Record]) -> None:
        """The partner company of each deal, one v4 batch read per page."""
        api = self.client.crm.associations.v4.batch_api
        body = {"inputs": [{"id": r["id"]} for r in records]}
        answer = self._call("read deal associations", api.get_page_with_http_info, "deals", "companies",
                            batch_input_public_fetch_associations_batch_request=body)
        linked = {str(item["from"]["id"]): str(item["to"][0]["toObjectId"])
                  for item in (answer or {}).get("results", []) if item.get("to")}
        for record in records:
            record[PARTNER_KEY] = linked.get(record["id"])

    def _archived(self, entity: str, since: datetime | None) -> list[str]:
        api = self._api(entity).basic_api
        ids, after = [], None
        while True:
            kwargs: dict[str, Any] = {"limit": 100, "archived": True}
            if after:
                kwargs["after"] = after
            answer = self._call(f"list archived {entity}", api.get_page_with_http_info, **kwargs)
            for row in answer.get("results") or []:
                archived_at = _time(row.get("archivedAt") or row.get("updatedAt"))
                if since is None or archived_at is None or archived_at >= since:
                    ids.append(str(row["id"]))
            after = ((answer.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return ids

    # -- push --------------------------------------------------------------------------------------

    def push(self, entity: str, records: Sequence[Record]) -> list[PushResult]:
        """Upsert by `id_property` (100 a call); records carrying HubSpot's `id` are updated by id (how our
        id is written on a record made in HubSpot). Deal records' `partner_company_id` becomes an association."""
        key = self.settings.id_property
        batch = self.settings.batch_size
        results: list[PushResult] = []
        partners: dict[str, str] = {}
        for chunk in _chunks([r for r in records if r.get("id")], batch):
            results += self._batch(entity, "update", chunk, partners)
        for chunk in _chunks([r for r in records if not r.get("id")], batch):
            results += self._batch(entity, "upsert", chunk, partners)
        missing = [PushResult(str(r.get(key) or ""), False, error=RecordError("MISSING_ID_PROPERTY",
                   f"record has no {key}", (key,))) for r in records if not r.get(key)]
        if partners:
            self._associate(partners)
        return results + missing

    def _batch(self, entity: str, mode: str, chunk: Sequence[Record], partners: dict[str, str]) -> list[PushResult]:
        key = self.settings.id_property
        chunk = [r for r in chunk if r.get(key)]
        if not chunk:
            return []
        inputs = []
        for r in chunk:
            props = {k: _text(v) for k, v in r.items() if k not in ("id", PARTNER_KEY)}
            inputs.append({"id": r["id"], "properties": props} if mode == "update"
                          else {"idProperty": key, "id": str(r[key]), "properties": props})
        api = self._api(entity).batch_api
        if mode == "update":
            answer = self._call(f"batch update {entity}", api.update_with_http_info,
                                batch_input_simple_public_object_batch_input={"inputs": inputs})
        else:
            answer = self._call(f"batch upsert {entity}", api.upsert_with_http_info,
                                batch_input_simple_public_object_batch_input_upsert={"inputs": inputs})
        by_key = {str(row["properties"].get(key) or ""): row for row in (answer or {}).get("results", [])}
        by_id = {str(row["id"]): row for row in (answer or {}).get("results", [])}
        failed = _errors(answer or {})
        out = []
        for r in chunk:
            row = by_id.get(str(r.get("id"))) if mode == "update" else by_key.get(str(r[key]))
            if row is None:
                code, message = failed.get(str(r.get("id") if mode == "update" else r[key]), ("UNKNOWN", "no result"))
                out.append(PushResult(str(r[key]), False, error=RecordError(code, message)))
                continue
            out.append(PushResult(str(r[key]), True, str(row["id"]), bool(row.get("new"))))
            if entity == "deal" and r.get(PARTNER_KEY):
                partners[str(row["id"])] = str(r[PARTNER_KEY])
        return out

    def _associate(self, partners: dict[str, str]) -> None:
        api = self.client.crm.associations.v4.batch_api
        pairs = list(partners.items())
        for chunk in _chunks(pairs, self.settings.batch_size):
            body = {"inputs": [{"from": {"id": deal}, "to": {"id": company}} for deal, company in chunk]}
            self._call("associate deals", api.create_default_with_http_info, "deals", "companies",
                       batch_input_public_default_association_multi_post=body)

    def archive(self, entity: str, ids: Sequence[str]) -> list[PushResult]:
        api = self._api(entity).batch_api
        for chunk in _chunks(list(ids), self.settings.batch_size):
            self._call(f"batch archive {entity}", api.archive_with_http_info,
                       batch_input_simple_public_object_id={"inputs": [{"id": i} for i in chunk]})
        return [PushResult(i, True, i) for i in ids]

    # -- schema ------------------------------------------------------------------------------------

    def check_schema(self, create: bool = False) -> list[str]:
        """Missing custom properties as `object.property`; with `create`, made in the partnersync group."""
        core, groups = self.client.crm.properties.core_api, self.client.crm.properties.groups_api
        missing = []
        for entity, kind in OBJECTS.items():
            answer = self._call(f"properties {kind}", core.get_all_with_http_info, kind)
            present = {p["name"] for p in (answer or {}).get("results", [])}
            wanted = [self.settings.id_property, *PROPERTIES[entity], *WRITE_ONLY[entity]]
            absent = [name for name in wanted if name not in present]
            if absent and create:
                self._call(f"create group {kind}", groups.create_with_http_info, kind, property_group_create={
                    "name": self.settings.property_group, "label": "partnersync", "displayOrder": -1})
                for name in absent:
                    self._call(f"create property {kind}.{name}", core.create_with_http_info, kind, property_create={
                        "name": name, "label": name.replace("_", " ").title(), "type": "string",
                        "fieldType": "text", "groupName": self.settings.property_group,
                        "hasUniqueValue": name == self.settings.id_property})
                absent = []
            missing += [f"{kind}.{name}" for name in absent]
        return missing


def _json(body: Any) -> dict[str, Any]:
    try:
        value = json.loads(body) if body else {}
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _errors(answer: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """207 multi-status: each error names the ids it applies to."""
    found = {}
    for err in answer.get("errors") or []:
        for key in (err.get("context") or {}).get("ids") or []:
            found[str(key)] = (str(err.get("category") or "ERROR"), str(err.get("message") or ""))
    return found


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    text = str(value)
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _stamp(row: dict[str, Any]) -> datetime | None:
    return _time((row.get("properties") or {}).get(MODIFIED) or row.get("updatedAt"))


def _number(record_id: str | None) -> int:
    """HubSpot ids are numbers and ascend; -1 when there is none."""
    return int(record_id) if record_id and record_id.isdigit() else -1


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
