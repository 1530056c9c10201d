"""Normalizers that make values from different systems comparable. Offline: no network at run time.

The parsers (public suffixes, countries, phone numbers) are memoised: a sync normalizes each value
several times (validation on the way in, the push's mapping and echo, dedup keys).
"""

import re
import unicodedata
from datetime import UTC, datetime
from functools import lru_cache

import phonenumbers
import pycountry
import tldextract

# The bundled public suffix list only: never fetch at run time.
_extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
CACHED = 1 << 14  # distinct values kept per memoised function (a few MB at most)
_SPACES = re.compile(r"\s+")
_COUNTRY_ALIASES = {"UK": "GB", "USA": "US", "UNITED STATES": "US", "UNITED KINGDOM": "GB", "ENGLAND": "GB"}


def clean_text(value: object) -> str | None:
    """Trimmed text with inner whitespace collapsed; blank becomes None."""
    if value is None:
        return None
    text = _SPACES.sub(" ", str(value)).strip()
    return text or None


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def domain(value: str | None) -> str | None:
    """Registrable domain of a website, URL or e-mail address (`https://www.shop.acme.co.uk/x` -> acme.co.uk)."""
    text = clean_text(value)
    return None if text is None else _domain(text.lower().rsplit("@", 1)[-1])


@lru_cache(maxsize=CACHED)
def _domain(text: str) -> str | None:
    parts = _extract(text if "://" in text else f"http://{text}")
    if not parts.domain or not parts.suffix:
        return None
    return f"{parts.domain}.{parts.suffix}"


def country(value: str | None) -> str | None:
    """ISO 3166-1 alpha-2 code from a code or an English name; None when unknown."""
    text = clean_text(value)
    return None if text is None else _country(text)


@lru_cache(maxsize=CACHED)
def _country(text: str) -> str | None:
    upper = _COUNTRY_ALIASES.get(text.upper(), text.upper())
    found = pycountry.countries.get(alpha_2=upper) if len(upper) == 2 else None
    if found is None and len(upper) == 3:
        found = pycountry.countries.get(alpha_3=upper)
    if found is None:
        try:
            found = pycountry.countries.lookup(text)
        except LookupError:
            return None
    return str(found.alpha_2)


def phone(value: str | None, region: str | None = None) -> str | None:
    """E.164 (`+14155550100`) when the number parses and is possible, else None."""
    text = clean_text(value)
    return None if text is None else _phone(text, region or "US")


@lru_cache(maxsize=CACHED)
def _phone(text: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def tax_id(value: str | None) -> str | None:
    """Letters and digits only, upper case (`DE 123.456.789` -> DE123456789)."""
    text = clean_text(value)
    if text is None:
        return None
    return re.sub(r"[^0-9A-Za-z]", "", text).upper() or None


def utc(value: datetime | str | None) -> datetime | None:
    """A timezone-aware UTC datetime; naive input is taken as UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        if re.match(r".*[+-]\d{4}$", text):
            text = f"{text[:-2]}:{text[-2:]}"
        value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
