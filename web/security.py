"""Who may use the dashboard and whether a form came from it: HTTP basic auth, CSRF tokens, flash messages.

Basic auth applies when `web.username` and `web.password` are both set (else the dashboard is open, and
`serve` binds loopback only). A form carries an HMAC of a random cookie the page set (double submit, the
cookie HttpOnly and SameSite=Strict), so another site cannot post on a logged-in operator's behalf.
"""

import base64
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from config import Settings
from web import signing

CSRF_COOKIE = "partnersync_csrf"
FLASH_COOKIE = "partnersync_flash"
HEADERS = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
           "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"}


@dataclass(frozen=True)
class Flash:
    kind: str  # ok | error
    text: str


Action = Callable[[Request, dict[str, str]], Awaitable[Flash]]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def user(request: Request) -> str | None:
    """The authenticated user name; "" when the dashboard is open; None when credentials are wrong or missing."""
    web = _settings(request).web
    if web.username is None or web.password is None:
        return ""
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    try:
        name, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    ok = hmac.compare_digest(name.encode(), web.username.get_secret_value().encode())
    ok &= hmac.compare_digest(password.encode(), web.password.get_secret_value().encode())
    return name if ok and scheme.lower() == "basic" else None


def challenge() -> Response:
    return PlainTextResponse("login required\n", status_code=401,
                             headers={"WWW-Authenticate": 'Basic realm="partnersync", charset="UTF-8"'})


def csrf(request: Request) -> tuple[str, str | None]:
    """The form token for this browser, and the cookie to set when it has none yet."""
    cookie = request.cookies.get(CSRF_COOKIE)
    fresh = None if cookie else secrets.token_urlsafe(32)
    return signing.sign(_settings(request).web.card_secret, "csrf", cookie or fresh or ""), fresh


def finish(request: Request, response: Response, fresh_csrf: str | None) -> Response:
    """Security headers, the new CSRF cookie if any, and the shown flash message cleared."""
    response.headers.update(HEADERS)
    if fresh_csrf:
        response.set_cookie(CSRF_COOKIE, fresh_csrf, httponly=True, samesite="strict")
    if FLASH_COOKIE in request.cookies:
        response.delete_cookie(FLASH_COOKIE)
    return response


def flash(request: Request) -> Flash | None:
    value = signing.loads(_settings(request).web.card_secret, "flash", request.cookies.get(FLASH_COOKIE, ""))
    return Flash(str(value["kind"]), str(value["text"])) if isinstance(value, dict) else None


def _back(target: str) -> str:
    """Only a path of this site (never another host) is a redirect target."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


def form_action(action: Action) -> Callable[[Request], Awaitable[Response]]:
    """A dashboard POST: authenticated, CSRF-checked, then 303 back to the page with the action's message."""
    async def endpoint(request: Request) -> Response:
        if user(request) is None:
            return challenge()
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        cookie, token = request.cookies.get(CSRF_COOKIE, ""), form.get("csrf", "")
        if not cookie or not token or not signing.valid(_settings(request).web.card_secret, "csrf", cookie, token):
            return PlainTextResponse("form token missing or invalid; reload the dashboard and try again\n",
                                     status_code=403, headers=HEADERS)
        result = await action(request, form)
        response = RedirectResponse(_back(form.get("back", "/")), status_code=303, headers=HEADERS)
        response.set_cookie(FLASH_COOKIE, signing.dumps(_settings(request).web.card_secret, "flash",
                                                        {"kind": result.kind, "text": result.text}),
                            max_age=60, httponly=True, samesite="strict")
        return response
    return endpoint
