"""HubSpot webhooks (v3 signatures): verified, de-duplicated, then turned into incremental pulls.

HubSpot signs `method + uri + body + timestamp` with the app's client secret (HMAC-SHA256, base64)
in `X-HubSpot-Signature-v3`, with the time in `X-HubSpot-Request-Timestamp` (ms). We refuse a bad
signature and a timestamp older than five minutes (401), and an event id seen before is ignored.
Webhooks only speed sync up: polling stays the source of truth. Deletions are taken from the events
themselves (HubSpot's archived list, which pulls read only every `hubspot.archived_every_seconds`).
"""

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sync.webhooks import Event, accept

MAX_AGE_MS = 5 * 60 * 1000
OBJECTS = {"company": "partner", "deal": "deal"}
# HubSpot decodes these in the URI before signing (its v3 validation guide).
_DECODED = ("%3A", "%2F", "%3F", "%40", "%21", "%24", "%27", "%28", "%29", "%2A", "%2C", "%3B")


def signature(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    message = method.encode() + uri.encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def signed_uri(request: Request, public_url: str | None) -> str:
    """The URI HubSpot called: the configured public base (behind a proxy) or the request's own."""
    uri = str(request.url)
    if public_url:
        uri = public_url.rstrip("/") + request.url.path + (f"?{request.url.query}" if request.url.query else "")
    for code in _DECODED:
        uri = uri.replace(code, unquote(code)).replace(code.lower(), unquote(code))
    return uri


def verify(request: Request, body: bytes, secret: str, public_url: str | None, now_ms: int) -> str | None:
    """None when the request is HubSpot's and fresh; else why not."""
    given = request.headers.get("X-HubSpot-Signature-v3")
    stamp = request.headers.get("X-HubSpot-Request-Timestamp", "")
    if not given or not stamp.isdigit():
        return "missing X-HubSpot-Signature-v3 or X-HubSpot-Request-Timestamp"
    if now_ms - int(stamp) > MAX_AGE_MS:
        return "timestamp older than 5 minutes"
    expected = signature(secret, request.method, signed_uri(request, public_url), body, stamp)
    if not hmac.compare_digest(expected, given):
        return "bad signature"
    return None


async def hubspot(request: Request) -> Response:
    settings = request.app.state.settings
    secret = settings.hubspot.client_secret
    if secret is None:
        return JSONResponse({"error": "hubspot.client_secret is not configured"}, status_code=503)
    body = await request.body()
    problem = verify(request, body, secret.get_secret_value(), settings.web.public_url, int(time.time() * 1000))
    if problem:
        return JSONResponse({"error": problem}, status_code=401)
    try:
        events = json.loads(body or b"[]")
        assert isinstance(events, list)
    except (ValueError, AssertionError):
        return JSONResponse({"error": "body must be a JSON list of events"}, status_code=400)
    fresh = set(accept(request.app.state.store, "hubspot", [str(e.get("eventId")) for e in events]))
    wanted = sorted({(OBJECTS[kind], str(e.get("objectId")), change) for e in events
                     if str(e.get("eventId")) in fresh
                     for kind, _, change in [str(e.get("subscriptionType", "")).partition(".")] if kind in OBJECTS})
    on_events: Callable[[list[Event]], Any] | None = getattr(request.app.state, "on_hubspot_events", None)
    if wanted and on_events is not None:
        on_events(wanted)
    return JSONResponse({"accepted": len(fresh), "duplicates": len(events) - len(fresh), "pulls": len(wanted)})


routes = [Route("/webhooks/hubspot", hubspot, methods=["POST"])]
