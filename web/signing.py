"""HMAC signatures for what the web hands out and takes back: card links, form tokens, flash cookies.

Each use signs under its own key derived from `web.card_secret` and a purpose, so a value signed for one
use is never accepted for another.
"""

import base64
import hashlib
import hmac
import json
from typing import Any

from pydantic import SecretStr


def _key(secret: SecretStr, purpose: str) -> bytes:
    return hmac.new(secret.get_secret_value().encode(), purpose.encode(), hashlib.sha256).digest()


def sign(secret: SecretStr, purpose: str, message: str) -> str:
    """URL-safe base64 HMAC-SHA256 of `message`."""
    digest = hmac.new(_key(secret, purpose), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def valid(secret: SecretStr, purpose: str, message: str, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, purpose, message), signature)


def dumps(secret: SecretStr, purpose: str, value: Any) -> str:
    """A JSON value and its signature in one cookie-safe string."""
    body = base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
    return f"{body}.{sign(secret, purpose, body)}"


def loads(secret: SecretStr, purpose: str, text: str) -> Any:
    """The value `dumps` signed, or None when the text is missing, malformed or not signed by us."""
    body, _, signature = text.partition(".")
    if not body or not valid(secret, purpose, body, signature):
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except ValueError:
        return None
