"""The rounding rule: half-even to the currency's ISO 4217 minor unit."""

from decimal import Decimal

import pytest

from mapping.money import minor_unit, round_money


@pytest.mark.parametrize(("amount", "currency", "expected"), [
    ("5.025", "USD", "5.02"), ("5.035", "USD", "5.04"), ("-5.025", "EUR", "-5.02"),
    ("50.5", "JPY", "50"), ("51.5", "JPY", "52"), ("1.2345", "KWD", "1.234"), ("1.2355", "kwd", "1.236"),
    ("0.00005", "CLF", "0.0000"),
])
def test_half_even_to_the_minor_unit(amount: str, currency: str, expected: str) -> None:
    assert str(round_money(Decimal(amount), currency)) == expected


def test_minor_units() -> None:
    assert [minor_unit(c) for c in ("USD", "JPY", "BHD", "CLF")] == [2, 0, 3, 4]
