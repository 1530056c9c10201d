"""The CRM card: a partner's registrations, conflicts, accruals and payouts, next to the record a rep views.

Never public. HubSpot's card data fetch (a GET to our target URL with `associatedObjectId`,
`associatedObjectType`, `portalId`, ...) is verified like HubSpot's webhooks: the v3 signature with the
app's client secret and the 5-minute window. The Salesforce card is an HTML page framed in the record
page, opened by a link that carries its own expiry and an HMAC of object, id and expiry under
`web.card_secret` (`partnersync card-link` or `link()` mints one). Missing credentials answer 401, bad or
expired ones 403.
"""

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from config import Settings
from config.settings import WebSettings
from sync.partner_view import PartnerView, find
from web.signing import sign, valid
from web.templating import amount, templates
from web.webhooks import verify

PURPOSE = "salesforce-card"
HUBSPOT_OBJECTS = {"company": "partner", "companies": "partner", "deal": "deal", "deals": "deal"}
# Salesforce frames the card from these origins (Lightning, Classic and Visualforce domains).
FRAME_ANCESTORS = "'self' https://*.force.com https://*.salesforce.com https://*.visualforce.com"
_UNSET = WebSettings.model_fields["card_secret"].default


@dataclass
class Line:
    label: str
    value: str
    currency: str | None = None  # set when `value` is an amount


@dataclass
class Section:
    title: str
    lines: list[Line] = field(default_factory=list)


def _day(at: datetime | None) -> str:
    return at.date().isoformat() if at else "-"


def figure(value: Decimal, currency: str) -> str:
    """The number alone (the currency travels beside it), to the currency's minor unit."""
    return amount(value, currency).removesuffix(f" {currency}")


def sections(view: PartnerView, currency: str) -> list[Section]:
    """The card's content, shared by the HubSpot JSON and the Salesforce page (roll-ups are in `currency`)."""
    p = view.partner
    head = Section(p.name, [Line("Tier", p.tier or "-"), Line("Status", p.status)])
    for label, total in (("Accrued YTD", p.accrued_ytd), ("Paid YTD", p.paid_ytd)):
        if total is not None:
            head.lines.append(Line(label, figure(total, currency), currency))
    deals = Section(f"Registrations ({len(view.deals)})")
    for d in view.deals:
        value = f"{d.registration_status}, {d.stage}, {amount(d.amount, d.currency)}"
        value += f", expires {_day(d.expires_at)}"
        if d.conflict_flag:
            value += f", conflict: {d.conflict_reason or 'yes'}"
        deals.lines.append(Line(d.name, value))
    open_count = sum(c.status == "open" for c in view.conflicts)
    conflicts = Section(f"Conflicts ({open_count} open)")
    for c in view.conflicts:
        label = " / ".join(view.deal_names.get(i, i) for i in (c.deal_id, c.other_deal_id))
        conflicts.lines.append(Line(label, f"{c.status}: {c.rule}" + (f", {c.resolution}" if c.resolution else "")))
    accruals = Section("Accruals", [Line(status, figure(total, code), code)
                                    for (status, code), total in view.accrued.items()])
    payouts = Section(f"Payouts ({len(view.payouts)})", [
        Line(f"{po.period} {po.status}", figure(po.amount, po.currency), po.currency) for po in view.payouts])
    return [head, deals, conflicts, accruals, payouts]


def hubspot_results(parts: list[Section]) -> dict[str, Any]:
    """HubSpot's card response: up to five results, each a title and its properties."""
    def prop(line: Line) -> dict[str, str]:
        if line.currency:
            return {"label": line.label, "dataType": "CURRENCY", "value": line.value, "currencyCode": line.currency}
        return {"label": line.label, "dataType": "STRING", "value": line.value}

    return {"results": [{"objectId": n, "title": part.title, "link": None, "properties": [prop(x) for x in part.lines]}
                        for n, part in enumerate(parts[:5], start=1)]}


async def hubspot(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    secret = settings.hubspot.client_secret
    if secret is None:
        return JSONResponse({"error": "hubspot.client_secret is not configured"}, status_code=503)
    if not all(h in request.headers for h in ("X-HubSpot-Signature-v3", "X-HubSpot-Request-Timestamp")):
        return JSONResponse({"error": "missing X-HubSpot-Signature-v3 or X-HubSpot-Request-Timestamp"},
                            status_code=401)
    problem = verify(request, await request.body(), secret.get_secret_value(), settings.web.public_url,
                     int(time.time() * 1000))
    if problem:
        return JSONResponse({"error": problem}, status_code=403)
    kind = request.query_params.get("associatedObjectType", "").lower()
    object_id = request.query_params.get("associatedObjectId", "")
    if kind not in HUBSPOT_OBJECTS or not object_id:
        return JSONResponse({"error": "associatedObjectType must be a company or deal, with associatedObjectId"},
                            status_code=400)
    view = find(request.app.state.store, HUBSPOT_OBJECTS[kind], "hubspot", object_id)
    return JSONResponse(hubspot_results(sections(view, settings.program.currency)) if view else {"results": []})


def _message(sobject: str, external_id: str, expires: int) -> str:
    return f"{sobject}\n{external_id}\n{expires}"


def link(settings: Settings, sobject: str, external_id: str, ttl: timedelta, now: datetime) -> str:
    """A signed link to the Salesforce card of `sobject` record `external_id`, valid for `ttl`."""
    if settings.web.card_secret == _UNSET:
        raise ValueError("web.card_secret: set a secret of your own before handing out card links")
    expires = int((now + ttl).timestamp())
    base = settings.web.public_url or f"http://{settings.web.host}:{settings.web.port}"
    query = urlencode({"expires": expires, "sig": sign(settings.web.card_secret, PURPOSE,
                                                      _message(sobject, external_id, expires))})
    return f"{base.rstrip('/')}/card/salesforce/{quote(sobject, safe='')}/{quote(external_id, safe='')}?{query}"


def _refused(status: int, reason: str) -> Response:
    return Response(f"{reason}\n", status_code=status, media_type="text/plain")


async def salesforce(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    sobject, external_id = request.path_params["sobject"], request.path_params["external_id"]
    expires, signature = request.query_params.get("expires", ""), request.query_params.get("sig", "")
    if settings.web.card_secret == _UNSET:
        return _refused(503, "web.card_secret is not configured")
    if not signature or not expires:
        return _refused(401, "a signed card link is required (expires and sig)")
    if not expires.isdigit() or not valid(settings.web.card_secret, PURPOSE,
                                          _message(sobject, external_id, int(expires)), signature):
        return _refused(403, "bad card link signature")
    if int(expires) < time.time():
        return _refused(403, "card link expired")
    entities = {settings.salesforce.account_object: "partner", settings.salesforce.opportunity_object: "deal"}
    if sobject not in entities:
        return _refused(404, f"no card for {sobject} records (cards exist for {', '.join(entities)})")
    view = find(request.app.state.store, entities[sobject], "salesforce", external_id)
    parts = sections(view, settings.program.currency) if view else None
    response = templates.TemplateResponse(request, "card.html", {
        "sections": parts, "sobject": sobject, "external_id": external_id}, status_code=200 if view else 404)
    response.headers["Content-Security-Policy"] = f"frame-ancestors {FRAME_ANCESTORS}"
    return response


routes = [Route("/card/hubspot", hubspot, methods=["GET"]),
          Route("/card/salesforce/{sobject}/{external_id}", salesforce, methods=["GET"])]
