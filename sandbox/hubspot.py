"""An in-memory HubSpot CRM over HTTP: what the connector uses, as HubSpot documents it.

CRM search (filterGroups OR'ed, filters AND'ed, one sort, `after` paging, 200 a page, and the 10,000
results cap past which HubSpot answers 400), object lists with `archived=true`, batch upsert by a
unique `idProperty` (207 multi-status with per-record errors), batch update and archive, v4
associations (default associate, batch read), properties and groups, rate-limit headers on every
response and a real 10-second window (429 with HubSpot's error body and Retry-After). `on_change`
hears every change (`sandbox.hubspot_webhooks.Deliveries` sends them as signed v3 webhooks).
"""

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.faults import FaultMiddleware, Faults
from sandbox.server import SandboxServer, Served

OBJECTS = ("companies", "deals")
SEARCH_CAP = 10_000
PAGE_MAX = 200
BATCH_MAX = 100
STANDARD = {
    "companies": {"name", "domain", "phone", "address", "city", "zip", "country", "hs_object_id",
                  "hs_lastmodifieddate", "createdate"},
    "deals": {"dealname", "amount", "deal_currency_code", "dealstage", "closedate", "pipeline", "hubspot_owner_id",
              "hs_object_id", "hs_lastmodifieddate", "createdate"},
}
Obj = dict[str, Any]


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def millis(value: Any) -> int | None:
    """HubSpot compares dates as epoch milliseconds; filters may send ms or ISO text."""
    if value in (None, ""):
        return None
    text = str(value)
    if text.isdigit():
        return int(text)
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def error(status: int, category: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"status": "error", "message": message, "correlationId": "00000000-sandbox",
                         "category": category, **extra}, status_code=status)


class HubSpotSandbox(Served):
    """`with HubSpotSandbox() as hs: hs.url` — seed with `create` (or `sandbox.hubspot_seed.Seeder`),
    inspect with `objects` and `associations`."""

    def __init__(self, *, access_token: str = "pat-sandbox", window_limit: int = 190, search_per_second: int = 5,
                 daily_limit: int = 1_000_000) -> None:
        self.access_token = access_token
        self.window_limit, self.search_per_second, self.daily_limit = window_limit, search_per_second, daily_limit
        self.objects: dict[str, dict[str, Obj]] = {name: {} for name in OBJECTS}
        self.properties: dict[str, dict[str, Obj]] = {
            name: {p: {"name": p, "type": "string", "groupName": "standard"} for p in STANDARD[name]}
            for name in OBJECTS}
        self.groups: dict[str, set[str]] = {name: set() for name in OBJECTS}
        self.associations: dict[str, str] = {}  # deal id -> its (partner) company id
        self.unique: dict[tuple[str, str, str], str] = {}  # (kind, unique property, value) -> live object id
        # every change, as (kind, object id, creation|propertyChange|deletion): webhooks (sandbox.hubspot_webhooks)
        self.on_change: Callable[[str, str, str], None] | None = None
        self.faults = Faults()
        self.lock = threading.RLock()
        self.calls: deque[float] = deque()
        self.searches: deque[float] = deque()
        self.daily_used = 0
        self._ids = itertools.count(1001)
        self._clock = 0
        self.server = SandboxServer(FaultMiddleware(self._app(), self.faults))

    # -- lifecycle, seed and inspect ---------------------------------------------------------------

    def now_ms(self) -> int:
        """Milliseconds, never going back; many writes in one millisecond share it, like HubSpot's."""
        self._clock = max(self._clock, int(time.time() * 1000))
        return self._clock

    def create(self, kind: str, properties: dict[str, Any], *, modified_ms: int | None = None) -> Obj:
        with self.lock:
            object_id = str(next(self._ids))
            stamp = modified_ms or self.now_ms()
            props = {k: (None if v is None else str(v)) for k, v in properties.items()}
            props.update(hs_object_id=object_id, hs_lastmodifieddate=iso(stamp), createdate=iso(stamp))
            obj = {"id": object_id, "properties": props, "createdAt": iso(stamp), "updatedAt": iso(stamp),
                   "archived": False}
            self.objects[kind][object_id] = obj
            self._index(kind, obj)
            self._changed(kind, object_id, "creation")
            return obj

    def update(self, kind: str, object_id: str, properties: dict[str, Any], *, modified_ms: int | None = None) -> Obj:
        with self.lock:
            obj = self.objects[kind][object_id]
            self._index(kind, obj, drop=True)
            obj["properties"].update({k: (None if v is None else str(v)) for k, v in properties.items()})
            self._index(kind, obj)
            stamp = modified_ms or self.now_ms()
            obj["properties"]["hs_lastmodifieddate"] = obj["updatedAt"] = iso(stamp)
            self._changed(kind, object_id, "propertyChange")
            return obj

    def archive(self, kind: str, object_id: str) -> None:
        with self.lock:
            obj = self.objects[kind][object_id]
            obj["archived"], obj["archivedAt"] = True, iso(self.now_ms())
            self._index(kind, obj, drop=True)
            self._changed(kind, object_id, "deletion")

    def _changed(self, kind: str, object_id: str, change: str) -> None:
        if self.on_change is not None:
            self.on_change(kind, object_id, change)

    def _index(self, kind: str, obj: Obj, *, drop: bool = False) -> None:
        """Live objects by the values of unique properties, so an upsert finds its record without a scan."""
        for name, spec in self.properties[kind].items():
            value = obj["properties"].get(name)
            if spec.get("hasUniqueValue") and value is not None:
                if drop:
                    self.unique.pop((kind, name, value), None)
                else:
                    self.unique[(kind, name, value)] = obj["id"]

    def associate(self, deal: str, company: str) -> None:
        """The deal's company (one partner company a deal, as partnersync reads it)."""
        with self.lock:
            self.associations[deal] = company

    def define_properties(self, kind: str, *names: str, unique: str | None = None) -> None:
        """Custom properties as an admin (or `check_schema(create=True)`) would create them."""
        with self.lock:
            for name in names:
                self.properties[kind][name] = {"name": name, "type": "string", "groupName": "partnersync",
                                               "hasUniqueValue": name == unique}
            for obj in self.live(kind):
                self._index(kind, obj)

    def live(self, kind: str) -> list[Obj]:
        with self.lock:
            return [o for o in self.objects[kind].values() if not o["archived"]]

    # -- HTTP ------------------------------------------------------------------------------------

    def _app(self) -> Starlette:
        v3 = "/crm/v3/objects/{kind}"
        return Starlette(routes=[
            Route(v3 + "/search", self._guard(self._search, search=True), methods=["POST"]),
            Route(v3, self._guard(self._list), methods=["GET"]),
            Route(v3 + "/batch/upsert", self._guard(self._upsert), methods=["POST"]),
            Route(v3 + "/batch/update", self._guard(self._update), methods=["POST"]),
            Route(v3 + "/batch/archive", self._guard(self._archive), methods=["POST"]),
            Route("/crm/v4/associations/{kind}/{to}/batch/associate/default", self._guard(self._associate),
                  methods=["POST"]),
            Route("/crm/v4/associations/{kind}/{to}/batch/read", self._guard(self._read_associations),
                  methods=["POST"]),
            Route("/crm/v3/properties/{kind}", self._guard(self._properties), methods=["GET", "POST"]),
            Route("/crm/v3/properties/{kind}/groups", self._guard(self._groups), methods=["GET", "POST"]),
        ])

    def _guard(self, handler: Any, *, search: bool = False) -> Any:
        async def endpoint(request: Request) -> Response:
            if request.headers.get("authorization") != f"Bearer {self.access_token}":
                return error(401, "INVALID_AUTHENTICATION", "Authentication credentials not found. This API "
                             "supports OAuth 2.0 authentication and you can find more details at "
                             "https://developers.hubspot.com/docs/methods/auth/oauth-overview")
            kind = request.path_params.get("kind")
            if kind not in OBJECTS:
                return error(404, "OBJECT_NOT_FOUND", f"Unable to infer object type from: {kind}")
            limited = self._limit(search)
            if limited is not None:
                return limited
            try:
                body = json.loads(await request.body() or b"null")
            except ValueError:
                return error(400, "VALIDATION_ERROR", "Invalid input JSON on line 1")
            response = handler(request, kind, body)
            response.headers.update(self._headers())
            return response

        return endpoint

    def _limit(self, search: bool) -> Response | None:
        now = time.monotonic()
        with self.lock:
            while self.calls and now - self.calls[0] >= 10:
                self.calls.popleft()
            while self.searches and now - self.searches[0] >= 1:
                self.searches.popleft()
            if len(self.calls) >= self.window_limit or (search and len(self.searches) >= self.search_per_second):
                retry = 10 - (now - self.calls[0]) if len(self.calls) >= self.window_limit else 1
                response = error(429, "RATE_LIMITS", "You have reached your secondly limit.",
                                 errorType="RATE_LIMIT", policyName="SECONDLY" if search else "TEN_SECONDLY_ROLLING")
                response.headers.update({**self._headers(), "Retry-After": str(max(1, int(retry + 0.999)))})
                return response
            self.calls.append(now)
            self.daily_used += 1
            if search:
                self.searches.append(now)
        return None

    def _headers(self) -> dict[str, str]:
        with self.lock:
            return {"X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
                    "X-HubSpot-RateLimit-Max": str(self.window_limit),
                    "X-HubSpot-RateLimit-Remaining": str(max(0, self.window_limit - len(self.calls))),
                    "X-HubSpot-RateLimit-Daily": str(self.daily_limit),
                    "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, self.daily_limit - self.daily_used))}

    def _shown(self, obj: Obj, properties: list[str] | None) -> Obj:
        wanted = properties or ["hs_object_id", "hs_lastmodifieddate", "createdate"]
        shown = {k: obj["properties"].get(k) for k in wanted}
        return {**{k: v for k, v in obj.items() if k != "properties"}, "properties": shown}

    def _search(self, request: Request, kind: str, body: Any) -> Response:
        body = body or {}
        limit = int(body.get("limit") or 10)
        after = int(body.get("after") or 0)
        if limit > PAGE_MAX:
            return error(400, "VALIDATION_ERROR", f"limit must be <= {PAGE_MAX}")
        if after + limit > SEARCH_CAP:
            return error(400, "VALIDATION_ERROR", f"The sum of limit and after must be less than or equal to "
                         f"{SEARCH_CAP}. Provided limit: {limit}, after: {after}")
        groups = body.get("filterGroups") or []
        with self.lock:
            rows = [o for o in self.objects[kind].values() if not o["archived"]
                    and (not groups or any(all(self._match(o, f) for f in g.get("filters", [])) for g in groups))]
        sorts = body.get("sorts") or [{"propertyName": "hs_object_id"}]
        if len(sorts) > 1:
            return error(400, "VALIDATION_ERROR", "Only one sort is supported")
        sort = sorts[0] if isinstance(sorts[0], dict) else {"propertyName": str(sorts[0])}
        name = str(sort["propertyName"])
        rows.sort(key=lambda o: (self._key(o, name), int(o["id"])), reverse=sort.get("direction") == "DESCENDING")
        page = rows[after:after + limit]
        result: Obj = {"total": len(rows), "results": [self._shown(o, body.get("properties")) for o in page]}
        if after + limit < len(rows):
            result["paging"] = {"next": {"after": str(after + limit), "link": "?after=" + str(after + limit)}}
        return JSONResponse(result)

    @staticmethod
    def _key(obj: Obj, name: str) -> Any:
        value = obj["properties"].get(name)
        if name in ("hs_lastmodifieddate", "createdate", "closedate"):
            return millis(value) or 0
        if name == "hs_object_id":
            return int(value or 0)
        return value or ""

    def _match(self, obj: Obj, flt: Obj) -> bool:
        name, op = flt["propertyName"], flt["operator"]
        have = self._key(obj, name)
        raw = flt.get("value")
        want: Any = millis(raw) if name in ("hs_lastmodifieddate", "createdate") else (
            int(raw) if name == "hs_object_id" and raw is not None else raw)
        compare = {"EQ": lambda: have == want, "NEQ": lambda: have != want, "GT": lambda: have > want,
                   "GTE": lambda: have >= want, "LT": lambda: have < want, "LTE": lambda: have <= want,
                   "HAS_PROPERTY": lambda: have not in ("", None), "NOT_HAS_PROPERTY": lambda: have in ("", None),
                   "IN": lambda: str(have) in [str(v) for v in flt.get("values", [])]}
        return bool(compare[op]())

    def _list(self, request: Request, kind: str, body: Any) -> Response:
        archived = request.query_params.get("archived", "").lower() == "true"  # the Python client sends "True"
        limit = min(int(request.query_params.get("limit") or 10), BATCH_MAX)
        after = int(request.query_params.get("after") or 0)
        props = [p for p in request.query_params.get("properties", "").split(",") if p]
        with self.lock:
            rows = sorted((o for o in self.objects[kind].values() if o["archived"] == archived),
                          key=lambda o: int(o["id"]))
        page = [o for o in rows if int(o["id"]) > after][:limit]
        result: Obj = {"results": [self._shown(o, props) for o in page]}
        if page and int(page[-1]["id"]) < int(rows[-1]["id"]):
            result["paging"] = {"next": {"after": page[-1]["id"]}}
        return JSONResponse(result)

    def _unknown(self, kind: str, properties: dict[str, Any]) -> list[str]:
        return [p for p in properties if p not in self.properties[kind]]

    def _upsert(self, request: Request, kind: str, body: Any) -> Response:
        inputs = (body or {}).get("inputs") or []
        if len(inputs) > BATCH_MAX:
            return error(400, "VALIDATION_ERROR", f"Batch size must be <= {BATCH_MAX}")
        results, errors = [], []
        with self.lock:
            for item in inputs:
                prop = item.get("idProperty")
                spec = self.properties[kind].get(prop or "")
                if not spec or not spec.get("hasUniqueValue"):
                    return error(400, "VALIDATION_ERROR", f"Property {prop} is not a unique identifier property")
                props = {**(item.get("properties") or {}), prop: item.get("id")}
                unknown = self._unknown(kind, props)
                if unknown:
                    errors.append({"status": "error", "category": "VALIDATION_ERROR",
                                   "message": f"Property values were not valid: {unknown[0]} does not exist",
                                   "context": {"ids": [str(item.get("id"))], "propertyName": unknown}})
                    continue
                found_id = self.unique.get((kind, str(prop), str(item.get("id"))))
                found = self.objects[kind][found_id] if found_id else None
                obj = self.update(kind, found["id"], props) if found else self.create(kind, props)
                results.append({**self._shown(obj, list(props)), "new": found is None})
        status = 207 if errors else 200
        return JSONResponse({"status": "COMPLETE", "results": results, "errors": errors, "numErrors": len(errors),
                             "startedAt": iso(self.now_ms()), "completedAt": iso(self.now_ms())}, status_code=status)

    def _update(self, request: Request, kind: str, body: Any) -> Response:
        inputs = (body or {}).get("inputs") or []
        results, errors = [], []
        with self.lock:
            for item in inputs:
                obj = self.objects[kind].get(str(item.get("id")))
                unknown = self._unknown(kind, item.get("properties") or {})
                if obj is None or obj["archived"] or unknown:
                    errors.append({"status": "error", "category": "OBJECT_NOT_FOUND" if not unknown else
                                   "VALIDATION_ERROR", "message": f"Object {item.get('id')} not updated",
                                   "context": {"ids": [str(item.get("id"))]}})
                    continue
                self.update(kind, obj["id"], item.get("properties") or {})
                results.append(self._shown(obj, list(item.get("properties") or {})))
        return JSONResponse({"status": "COMPLETE", "results": results, "errors": errors, "numErrors": len(errors)},
                            status_code=207 if errors else 200)

    def _archive(self, request: Request, kind: str, body: Any) -> Response:
        with self.lock:
            for item in (body or {}).get("inputs") or []:
                if str(item.get("id")) in self.objects[kind]:
                    self.archive(kind, str(item["id"]))
        return Response(status_code=204)

    def _associate(self, request: Request, kind: str, body: Any) -> Response:
        results = []
        with self.lock:
            for item in (body or {}).get("inputs") or []:
                deal, company = str(item["from"]["id"]), str(item["to"]["id"])
                self.associate(deal, company)
                spec = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 341}
                results.append({"from": {"id": deal}, "to": {"id": company}, "associationSpec": spec})
        return JSONResponse({"status": "COMPLETE", "results": results})

    def _read_associations(self, request: Request, kind: str, body: Any) -> Response:
        results = []
        with self.lock:
            for item in (body or {}).get("inputs") or []:
                deal = str(item["id"])
                company = self.associations.get(deal)
                if company is not None:
                    results.append({"from": {"id": deal}, "to": [{"toObjectId": int(company), "associationTypes": [
                        {"category": "HUBSPOT_DEFINED", "typeId": 341, "label": None}]}]})
        return JSONResponse({"status": "COMPLETE", "results": results})

    def _properties(self, request: Request, kind: str, body: Any) -> Response:
        if request.method == "GET":
            return JSONResponse({"results": list(self.properties[kind].values())})
        with self.lock:
            if body["name"] in self.properties[kind]:
                return error(409, "CONFLICT", f"A property named '{body['name']}' already exists.")
            if body.get("groupName") not in self.groups[kind] | {"companyinformation", "dealinformation"}:
                return error(400, "VALIDATION_ERROR", f"group {body.get('groupName')} does not exist")
            self.properties[kind][body["name"]] = dict(body)
            for obj in self.live(kind):
                self._index(kind, obj)
        return JSONResponse(body, status_code=201)

    def _groups(self, request: Request, kind: str, body: Any) -> Response:
        if request.method == "GET":
            return JSONResponse({"results": [{"name": g} for g in sorted(self.groups[kind])]})
        with self.lock:
            self.groups[kind].add(body["name"])
        return JSONResponse(body, status_code=201)


CUSTOM_PROPERTIES = ("partnersync_id", "partnersync_tax_id", "partnersync_tier", "partnersync_customer_name",
                     "partnersync_customer_domain", "partnersync_customer_country", "partnersync_products",
                     "partnersync_registration_status", "partnersync_conflict_reason", "partnersync_expires_at",
                     "partnersync_incentive_amount", "partnersync_incentive_status", "partnersync_accrued_ytd",
                     "partnersync_paid_ytd", "partnersync_last_payout_at")


def ready(sandbox: HubSpotSandbox) -> HubSpotSandbox:
    """The portal as an admin leaves it after set-up: partnersync's custom properties exist."""
    for kind in OBJECTS:
        sandbox.groups[kind].add("partnersync")
        sandbox.define_properties(kind, *CUSTOM_PROPERTIES, unique="partnersync_id")
    return sandbox


def main(argv: list[str] | None = None) -> None:
    """`python -m sandbox.hubspot --companies N`: serve a seeded portal until stdin closes.

    Prints one JSON line with `url` and `access_token` (bench/ keeps the sandbox's memory out of the
    measured process). Limits are lifted so the bench measures calls, not waiting.
    """
    import argparse
    import sys

    from faker import Faker

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--companies", type=int, default=0)
    args = parser.parse_args(argv)
    fake = Faker()
    fake.seed_instance(7)
    with ready(HubSpotSandbox(window_limit=10_000_000, search_per_second=10_000_000)) as sandbox:
        for _ in range(args.companies):
            sandbox.create("companies", {"name": fake.company(), "domain": fake.domain_name()})
        print(json.dumps({"url": sandbox.url, "access_token": sandbox.access_token}), flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
