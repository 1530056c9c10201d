"""Pieces of the web pages that need no server: SVG charts, amounts, signed values."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from pydantic import SecretStr

from web import signing
from web.charts import Series, line_chart
from web.templating import amount, duration

T0 = datetime(2026, 5, 1, 12, tzinfo=UTC)


def test_chart_draws_each_series_and_escapes_names() -> None:
    svg = line_chart("Lag", [Series("<script>x</script>", [(T0, 1.0), (T0 + timedelta(minutes=5), 3.0)]),
                             Series("one point", [(T0, 2.0)]), Series("empty", [])], unit=" min")
    assert svg.count("<polyline") == 1 and svg.count("<circle") == 1
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "empty" not in svg and "3 min" in svg and "05-01 12:00" in svg and "05-01 12:05" in svg
    assert "no runs in this window" in line_chart("Lag", [])


def test_amounts_follow_the_currency_and_never_hide_digits() -> None:
    assert amount(Decimal("1234.5000"), "USD") == "1234.50 USD"
    assert amount(Decimal("1000.0000"), "JPY") == "1000 JPY"
    assert amount(Decimal("0.1250"), "USD") == "0.1250 USD"
    assert amount(None, "USD") == "-"
    assert [duration(s) for s in (None, 45, 720, 11100, 180000)] == ["-", "45 s", "12 min", "3 h 5 min", "2 d 2 h"]


def test_signed_values_are_bound_to_their_purpose_and_secret() -> None:
    key, other = SecretStr("k1"), SecretStr("k2")
    token = signing.dumps(key, "flash", {"kind": "ok", "text": "done"})
    assert signing.loads(key, "flash", token) == {"kind": "ok", "text": "done"}
    assert signing.loads(key, "csrf", token) is None
    assert signing.loads(other, "flash", token) is None
    assert signing.loads(key, "flash", token.replace(".", "x.")) is None
    assert signing.loads(key, "flash", "") is None
    assert signing.valid(key, "csrf", "cookie", signing.sign(key, "csrf", "cookie"))
