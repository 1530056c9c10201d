"""The sandbox's login endpoints: OAuth 2.0 token (password and JWT bearer grants) and SOAP `login()`.

Errors follow Salesforce: the token endpoint answers 400 `{"error": "invalid_grant", ...}`, SOAP
answers 500 with a LoginFault carrying `sf:exceptionCode` INVALID_LOGIN.
"""

import re
import secrets
import time
from dataclasses import dataclass, field
from html import unescape
from typing import Any
from urllib.parse import parse_qsl

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

ORG_ID = "00D8d0000000001"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass
class Credentials:
    """The one integration user and connected app the sandbox knows; sessions it has issued."""

    username: str = "integration@partnersync.test"
    password: str = "sandbox-password"
    security_token: str = "SANDBOXTOKEN"
    consumer_key: str = "3MVG9sandbox.consumer.key"
    consumer_secret: str = "sandbox-consumer-secret"
    sessions: set[str] = field(default_factory=set)
    logins: int = 0
    _private_key: str | None = None
    _public_key: Any = None

    def issue(self) -> str:
        token = f"{ORG_ID}!{secrets.token_urlsafe(40)}"
        self.sessions.add(token)
        self.logins += 1
        return token

    @property
    def private_key(self) -> str:
        """PEM of the key whose certificate is 'uploaded' to the connected app (generated on first use)."""
        if self._private_key is None:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self._public_key = key.public_key()
            self._private_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()).decode()
        return self._private_key


def _denied(description: str) -> JSONResponse:
    return JSONResponse({"error": "invalid_grant", "error_description": description}, status_code=400)


async def token(request: Request, creds: Credentials, base_url: str) -> Response:
    form = dict(parse_qsl((await request.body()).decode()))
    grant = form.get("grant_type")
    if grant == "password":
        if (form.get("client_id"), form.get("client_secret")) != (creds.consumer_key, creds.consumer_secret):
            return JSONResponse({"error": "invalid_client_id", "error_description": "client identifier invalid"},
                                status_code=400)
        if (form.get("username"), form.get("password")) not in {
                (creds.username, creds.password), (creds.username, creds.password + creds.security_token)}:
            return _denied("authentication failure")
    elif grant == JWT_GRANT:
        problem = _check_assertion(str(form.get("assertion", "")), creds, base_url)
        if problem:
            return _denied(problem)
    else:
        return JSONResponse({"error": "unsupported_grant_type", "error_description": "grant type not supported"},
                            status_code=400)
    return JSONResponse({"access_token": creds.issue(), "instance_url": base_url, "token_type": "Bearer",
                         "id": f"{base_url}/id/{ORG_ID}/0058d000000001AAA", "issued_at": str(int(time.time() * 1000)),
                         "scope": "api"})


def _check_assertion(assertion: str, creds: Credentials, base_url: str) -> str | None:
    creds.private_key  # noqa: B018 - make sure the connected app has its certificate
    try:
        claims = jwt.decode(assertion, creds._public_key, algorithms=["RS256"], audience=base_url,
                            options={"require": ["iss", "sub", "aud", "exp"]})
    except jwt.ExpiredSignatureError:
        return "expired access/refresh token"
    except jwt.InvalidAudienceError:
        return "audience is invalid"
    except jwt.PyJWTError:
        return "invalid assertion"
    if claims["iss"] != creds.consumer_key:
        return "invalid client credentials"
    if claims["sub"] != creds.username:
        return "user hasn't approved this consumer"
    return None


_SOAP_FAULT = """<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope
 xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="urn:fault.partner.soap.sforce.com"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault>
<faultcode>sf:INVALID_LOGIN</faultcode><faultstring>INVALID_LOGIN: Invalid username, password, security token;
 or user locked out.</faultstring><detail><sf:LoginFault xsi:type="sf:LoginFault">
<sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode><sf:exceptionMessage>Invalid username, password, security
 token; or user locked out.</sf:exceptionMessage></sf:LoginFault></detail></soapenv:Fault></soapenv:Body>
</soapenv:Envelope>"""

_SOAP_OK = """<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope
 xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><loginResponse><result>
<metadataServerUrl>{base}/services/Soap/m/{version}/{org}</metadataServerUrl><passwordExpired>false</passwordExpired>
<sandbox>true</sandbox><serverUrl>{base}/services/Soap/u/{version}/{org}</serverUrl>
<sessionId>{session}</sessionId><userId>0058d000000001AAA</userId></result></loginResponse></soapenv:Body>
</soapenv:Envelope>"""


def _element(xml: str, name: str) -> str | None:
    match = re.search(rf"<(?:\w+:)?{name}>(.*?)</(?:\w+:)?{name}>", xml, re.S)
    return unescape(match[1]) if match else None


async def soap_login(request: Request, creds: Credentials, base_url: str) -> Response:
    body = (await request.body()).decode()
    version = request.path_params["version"]
    if (_element(body, "username"), _element(body, "password")) != (
            creds.username, creds.password + creds.security_token):
        return Response(_SOAP_FAULT, status_code=500, media_type="text/xml")
    xml = _SOAP_OK.format(base=base_url, version=version, org=ORG_ID, session=creds.issue())
    return Response(xml, media_type="text/xml")
