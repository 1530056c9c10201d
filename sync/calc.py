"""The incentive arithmetic, pure: what a partner's won deals earn under the program rules.

Every line is computed exactly and rounded once (half-even, to the program currency's minor unit),
so re-running on the same facts always gives the same cents.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from config.program import ProgramRules
from mapping.money import round_money


class InputProblem(Exception):
    """A deal the rules cannot price: names the field and the reason; the deal is quarantined."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class Product:
    family: str
    amount: Decimal
    currency: str | None


@dataclass
class DealFacts:
    """A won deal as the rules see it."""

    id: str
    partner_id: str
    closed_on: date | None
    amount: Decimal | None
    currency: str | None
    products: list[Product] = field(default_factory=list)


@dataclass(frozen=True)
class Line:
    """What one (subject, rule) should total, in the program currency."""

    subject: str
    rule: str
    version: int
    kind: str
    period: str
    amount: Decimal
    deal_id: str | None = None
    source_amount: Decimal | None = None
    source_currency: str | None = None
    fx_rate: Decimal | None = None


def period_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def fx_rate(rules: ProgramRules, currency: str) -> Decimal:
    """Stored rate of `currency` into the program currency; an unknown currency is an input problem."""
    if currency == rules.currency:
        return Decimal(1)
    rate = rules.fx_rates.get(currency)
    if rate is None:
        raise InputProblem("currency",
                           f"unknown currency {currency!r}: not {rules.currency} and not in program.fx_rates")
    return rate


def deal_revenue(rules: ProgramRules, deal: DealFacts) -> Decimal:
    """The deal's amount in the program currency (rounded); refuses what cannot be priced."""
    if deal.closed_on is None:
        raise InputProblem("closed_at", "a won deal needs a close date")
    if deal.amount is None or deal.currency is None:
        raise InputProblem("amount", "a won deal needs an amount and a currency")
    if deal.amount < 0:
        raise InputProblem("amount", f"negative amount {deal.amount}")
    for product in deal.products:
        if product.amount < 0:
            raise InputProblem("products.amount", f"negative amount {product.amount} for family {product.family!r}")
        fx_rate(rules, product.currency or deal.currency)
    return round_money(deal.amount * fx_rate(rules, deal.currency), rules.currency)


def commission_lines(rules: ProgramRules, deal: DealFacts, tier: str) -> list[Line]:
    """One line per product family: family amount x stored fx rate x rate(tier, family); none when the
    program pays no commission (no rate table)."""
    assert deal.closed_on is not None and deal.currency is not None
    if not rules.commission.rates:
        return []
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for product in deal.products:
        totals[(product.family, product.currency or deal.currency)] += product.amount
    families = [family for family, _ in totals]
    if len(families) != len(set(families)):
        raise InputProblem("products.currency", "one product family in two currencies")
    rates = rules.commission.rates.get(tier, {})
    lines = []
    for (family, currency), base in sorted(totals.items()):
        if family not in rates:
            raise InputProblem("products.family", f"no commission rate for family {family!r} in tier {tier!r}")
        fx = fx_rate(rules, currency)
        amount = round_money(base * fx * rates[family], rules.currency)
        if amount:
            lines.append(Line(f"deal:{deal.id}", f"commission:{family}", rules.commission.version, "commission",
                              period_of(deal.closed_on), amount, deal.id, base, currency, fx))
    return lines


def spiff_lines(rules: ProgramRules, deal: DealFacts, revenue: Decimal) -> list[Line]:
    """A fixed amount for each SPIFF whose window, families and minimum the deal meets."""
    assert deal.closed_on is not None
    families = {p.family for p in deal.products}
    lines = []
    for spiff in rules.spiffs:
        fx = fx_rate(rules, spiff.currency)
        if not spiff.starts <= deal.closed_on <= spiff.ends:
            continue
        if spiff.product_families and not families & set(spiff.product_families):
            continue
        if revenue < round_money(spiff.min_deal_amount * fx, rules.currency):
            continue
        lines.append(Line(f"deal:{deal.id}", f"spiff:{spiff.name}", spiff.version, "spiff",
                          period_of(deal.closed_on), round_money(spiff.amount * fx, rules.currency), deal.id,
                          spiff.amount, spiff.currency, fx))
    return lines


def rebate_period(rules: ProgramRules, day: date) -> tuple[str, str]:
    """(rebate period name, the month its rebate accrues in: the period's last month)."""
    if rules.rebates.period == "year":
        return f"{day.year}", f"{day.year}-12"
    quarter = (day.month - 1) // 3 + 1
    return f"{day.year}-Q{quarter}", f"{day.year}-{quarter * 3:02d}"


def rebate_amount(rules: ProgramRules, revenue: Decimal) -> Decimal:
    """Retroactive: the reached band's rate on all revenue. Marginal: each band's rate on its slice."""
    total = Decimal(0)
    for band in rules.rebates.bands:
        if revenue < band.from_revenue:
            break
        if rules.rebates.mode == "retroactive":
            total = revenue * band.rate
        else:
            top = revenue if band.up_to is None else min(revenue, band.up_to)
            total += (top - band.from_revenue) * band.rate
    return round_money(total, rules.currency)


def rebate_lines(rules: ProgramRules, partner_id: str, revenue: Iterable[tuple[date, Decimal]]) -> list[Line]:
    """One line per rebate period on the partner's won revenue closed in it."""
    per_period: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for day, amount in revenue:
        per_period[rebate_period(rules, day)] += amount
    lines = []
    for (name, month), total in sorted(per_period.items()):
        amount = rebate_amount(rules, total)
        if amount:
            lines.append(Line(f"partner:{partner_id}", f"rebate:{name}", rules.rebates.version, "rebate", month,
                              amount, None, total, rules.currency, None))
    return lines


def monthly_revenue(revenue: Iterable[tuple[date, Decimal]]) -> dict[str, Decimal]:
    months: dict[str, Decimal] = defaultdict(Decimal)
    for day, amount in revenue:
        months[period_of(day)] += amount
    return months
