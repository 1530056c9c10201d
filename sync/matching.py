"""Partner matching without a database: keys, blocking keys and pair scores.

Shared by the hub rule (`sync.dedup`) and the clustering of files (`sync.blocking`). The score is a
Fellegi-Sunter style sum of log-odds per field, squashed by a logistic into [0, 1], so "0.92" means
roughly "92 in 100 pairs scored like this are the same firm" on the benchmark's calibration data.
"""

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler

from mapping import normalize
from mapping.names import digits, name_key, phonetic_key, street_key

FIELDS = ("name", "website", "email", "phone", "street", "city", "postal_code", "country", "tax_id")
# Mailbox providers say nothing about which firm an address belongs to.
FREE_MAIL = frozenset({
    "gmail.com", "googlemail.com", "yahoo.com", "hotmail.com", "outlook.com", "live.com", "msn.com", "aol.com",
    "icloud.com", "me.com", "gmx.de", "gmx.net", "web.de", "mail.ru", "yandex.ru", "qq.com", "163.com",
    "proton.me", "protonmail.com", "orange.fr", "free.fr", "libero.it", "yahoo.co.uk", "btinternet.com",
})
# Words too common in firm names to tell two firms apart ("Acme Solutions" vs "Beta Solutions").
GENERIC = frozenset({
    "solutions", "solution", "systems", "system", "services", "service", "group", "holdings", "holding",
    "technologies", "technology", "tech", "consulting", "international", "global", "partners", "software",
    "enterprises", "industries", "digital", "networks", "data", "and", "of", "company", "associates",
})
PRIOR = -5.0


@dataclass(slots=True)
class Keys:
    """The comparable form of one record; every field may be missing."""

    id: str
    name: str | None = None
    core: str | None = None
    phonetic: str | None = None
    domain: str | None = None
    phone: str | None = None
    tax: str | None = None
    street: str | None = None
    city: str | None = None
    postal: str | None = None
    country: str | None = None

    def blocks(self) -> Iterator[tuple[str, str]]:
        """The blocking keys: two records are compared only when they share one."""
        if self.domain:
            yield "d", self.domain
        if self.tax:
            yield "t", self.tax
        if self.phone:
            yield "p", self.phone
        if self.name:
            yield "n", f"{self.name}|{self.country or ''}"
        if self.phonetic:
            yield "f", self.phonetic


def keys(record_id: str, values: Mapping[str, Any]) -> Keys:
    """Normalize one record's raw fields (any of FIELDS) into its keys."""
    country = normalize.country(values.get("country"))
    key = name_key(values.get("name"))
    core = " ".join(w for w in key.split() if w not in GENERIC) or key if key else None
    site = normalize.domain(values.get("website"))
    mail = normalize.domain(values.get("email"))
    domain = site if site and site not in FREE_MAIL else (mail if mail and mail not in FREE_MAIL else None)
    raw_phone = values.get("phone")
    phone = normalize.phone(raw_phone, country) if raw_phone else None
    return Keys(
        id=record_id, name=key, core=core, phonetic=phonetic_key(key), domain=domain, phone=phone,
        tax=digits(values.get("tax_id")), street=street_key(values.get("street")), city=name_key(values.get("city")),
        postal=normalize.tax_id(values.get("postal_code")), country=country,
    )


@dataclass(slots=True)
class Match:
    a: str
    b: str
    score: float
    reasons: dict[str, Any] = field(default_factory=dict)


def name_similarity(a: Keys, b: Keys) -> float:
    """Token-sort ratio on the whole key blended with Jaro-Winkler on the distinctive words."""
    if not a.name or not b.name:
        return 0.0
    whole = fuzz.token_sort_ratio(a.name, b.name) / 100
    core = JaroWinkler.normalized_similarity(a.core or a.name, b.core or b.name)
    subset = fuzz.token_set_ratio(a.core or a.name, b.core or b.name) / 100
    return max(0.5 * whole + 0.5 * core, 0.9 * subset if min(len(a.core or ""), len(b.core or "")) > 3 else 0)


def _same(x: str | None, y: str | None, agree: float, disagree: float) -> tuple[float, str | None]:
    if not x or not y:
        return 0.0, None
    return (agree, "same") if x == y else (disagree, "different")


def score(a: Keys, b: Keys) -> Match:
    """One calibrated probability that `a` and `b` are the same firm, with per-field evidence."""
    reasons: dict[str, Any] = {}
    total = PRIOR
    if a.name and b.name:
        sim = name_similarity(a, b)
        reasons["name"] = round(sim, 3)
        total += 6.0 if sim >= 0.97 else 4.5 if sim >= 0.92 else 2.5 if sim >= 0.85 else 0.0 if sim >= 0.75 else -4.0
    for label, x, y, agree, disagree in (
        ("tax_id", a.tax, b.tax, 7.0, -5.0),
        ("domain", a.domain, b.domain, 4.5, -1.5),
        ("phone", a.phone, b.phone, 3.5, -1.5),
        ("country", a.country, b.country, 0.5, -5.0),
        ("city", a.city, b.city, 0.5, -2.0),
        ("postal_code", a.postal, b.postal, 1.0, -1.0),
        ("street", a.street, b.street, 1.5, -0.5),
    ):
        weight, verdict = _same(x, y, agree, disagree)
        if verdict:
            reasons[label] = verdict
            total += weight
    return Match(a.id, b.id, 1 / (1 + math.exp(-total)), reasons)
