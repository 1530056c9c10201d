"""The unified model and its normalizers."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pydantic import ValidationError

from mapping import Deal, Money, Partner
from mapping import normalize as n


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://www.shop.acme.co.uk/about", "acme.co.uk"),
        ("ACME.com", "acme.com"),
        ("jane.doe@mail.globex.de", "globex.de"),
        ("http://sub.example.com.au:8080", "example.com.au"),
        ("not a domain", None),
        ("", None),
        (None, None),
    ],
)
def test_domain(raw: str | None, expected: str | None) -> None:
    assert n.domain(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("us", "US"), ("Germany", "DE"), ("DEU", "DE"), ("UK", "GB"), ("Atlantis", None), (None, None)],
)
def test_country(raw: str | None, expected: str | None) -> None:
    assert n.country(raw) == expected


def test_phone_and_tax_id() -> None:
    assert n.phone("(415) 555-0100") == "+14155550100"
    assert n.phone("+49 30 1234567") == "+49301234567"
    assert n.phone("030 1234567", "DE") == "+49301234567"
    assert n.phone("12") is None
    assert n.tax_id("DE 123.456-789") == "DE123456789"


def test_utc() -> None:
    assert n.utc("2026-01-02T03:04:05.000+0000") == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert n.utc("2026-01-02T03:04:05Z") == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    cet = timezone(timedelta(hours=1))
    assert n.utc(datetime(2026, 1, 2, 4, 0, tzinfo=cet)) == datetime(2026, 1, 2, 3, 0, tzinfo=UTC)
    assert n.utc(datetime(2026, 1, 2)) == datetime(2026, 1, 2, tzinfo=UTC)


def test_money_is_exact_and_currency_checked() -> None:
    assert Money(amount=0.1, currency="eur") == Money(amount=Decimal("0.1"), currency="EUR")
    with pytest.raises(ValidationError, match="unknown currency"):
        Money(amount=Decimal(1), currency="ABC")


def test_partner_normalizes_and_rejects_bad_phone() -> None:
    p = Partner(name="  Acme  Corp ", website="www.acme.com", country="Deutschland", phone="+1 415 555 0100")
    assert (p.name, p.website, p.phone) == ("Acme  Corp", "acme.com", "+14155550100")
    with pytest.raises(ValidationError) as info:
        Partner(name="Acme", phone="call me")
    assert info.value.errors()[0]["loc"] == ("phone",)


def test_deal_times_are_utc() -> None:
    deal = Deal(name="Big one", registered_at="2026-03-01T10:00:00+02:00")
    assert deal.registered_at == datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
