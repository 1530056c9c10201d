"""Getting a Salesforce session: a given access token, SOAP login, or the OAuth 2.0 JWT bearer flow.

Every flow ends in `(access_token, instance_url)`; the connector then talks REST with that token and
calls `login` again once when Salesforce answers 401 INVALID_SESSION_ID.
"""

import time

import jwt
import requests
from simple_salesforce.exceptions import SalesforceAuthenticationFailed
from simple_salesforce.login import SalesforceLogin, token_login

from config.systems import SalesforceSettings
from connectors.base import AuthError

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def flow(settings: SalesforceSettings) -> str:
    """Which credentials can mint a new session: `jwt`, `password`, or `token` (no refresh)."""
    if settings.username and settings.consumer_key and settings.private_key:
        return "jwt"
    if settings.username and settings.password:
        return "password"
    if settings.access_token and settings.instance_url:
        return "token"
    raise AuthError(
        "salesforce: no usable credentials; set access_token + instance_url, username + password "
        "(+ security_token), or username + consumer_key + private_key"
    )


def can_refresh(settings: SalesforceSettings) -> bool:
    return flow(settings) != "token"


def login(settings: SalesforceSettings, session: requests.Session, *, refresh: bool = False) -> tuple[str, str]:
    """A session `(access_token, instance_url)`; a configured access token is used first, unless refreshing."""
    if settings.access_token and settings.instance_url and not refresh:
        return settings.access_token.get_secret_value(), settings.instance_url.rstrip("/")
    kind = flow(settings)
    try:
        if kind == "jwt":
            token, instance = _jwt_bearer(settings, session)
        elif kind == "password":
            token, instance = _soap_login(settings, session)
        else:
            raise AuthError("salesforce: the access token expired and no username/password or JWT key is set")
    except SalesforceAuthenticationFailed as exc:
        raise AuthError(f"salesforce login ({kind}) refused: {exc.code}: {exc.message}") from None
    return token, f"https://{instance}"


def _soap_login(settings: SalesforceSettings, session: requests.Session) -> tuple[str, str]:
    assert settings.password is not None
    token = settings.security_token.get_secret_value() if settings.security_token else ""
    return SalesforceLogin(
        username=settings.username,
        password=settings.password.get_secret_value(),
        security_token=token,
        sf_version=settings.api_version,
        session=session,
        domain=settings.domain,
        scratch_url=settings.login_url.rstrip("/"),
    )


def _jwt_bearer(settings: SalesforceSettings, session: requests.Session) -> tuple[str, str]:
    """POST a signed assertion (iss = consumer key, sub = username, aud = login URL) to the token endpoint."""
    assert settings.private_key is not None and settings.consumer_key is not None
    login_url = settings.login_url.rstrip("/")
    claims = {"iss": settings.consumer_key, "sub": settings.username, "aud": login_url,
              "exp": int(time.time()) + 180}
    try:
        assertion = jwt.encode(claims, settings.private_key.get_secret_value(), algorithm="RS256")
    except (ValueError, TypeError) as exc:
        raise AuthError(f"salesforce: private_key is not a usable RSA key ({type(exc).__name__})") from None
    token, instance = token_login(f"{login_url}/services/oauth2/token", {"grant_type": JWT_GRANT,
                                  "assertion": assertion}, settings.domain, settings.consumer_key, None, None,
                                  session)
    return str(token), str(instance)
