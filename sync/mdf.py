"""Market development funds: a partner claims against its tier's budget for the period."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from config.program import ProgramRules
from mapping.money import round_money
from sync import calc
from sync.accruals import status_for
from sync.store.tables import AccrualRow, PartnerRow, TierHistoryRow, new_id


class MdfError(ValueError):
    """A claim the budget does not allow; nothing is written."""


def budget_months(period: str, day: date) -> tuple[str, str]:
    if period == "year":
        return f"{day.year}-01", f"{day.year}-12"
    first = (day.month - 1) // 3 * 3 + 1
    return f"{day.year}-{first:02d}", f"{day.year}-{first + 2:02d}"


def claim(session: Session, rules: ProgramRules, *, partner_id: str, reference: str, amount: Decimal,
          currency: str, claimed_on: date, now: datetime) -> AccrualRow:
    """Book an MDF claim as an accrual keyed by its reference (a repeated claim is refused, not doubled)."""
    if session.get(PartnerRow, partner_id) is None:
        raise MdfError(f"mdf claim {reference}: partner {partner_id!r} does not exist")
    if amount <= 0:
        raise MdfError(f"mdf claim {reference}: amount: must be positive, got {amount}")
    key = f"mdf:{reference}|mdf|v1"
    if session.scalar(select(AccrualRow.id).where(AccrualRow.key == key)):
        raise MdfError(f"mdf claim {reference}: already booked")
    try:
        fx = calc.fx_rate(rules, currency)
    except calc.InputProblem as exc:
        raise MdfError(f"mdf claim {reference}: {exc}") from None
    period = calc.period_of(claimed_on)
    tier = session.scalar(select(TierHistoryRow.tier).where(TierHistoryRow.partner_id == partner_id,
                                                            TierHistoryRow.period <= period)
                          .order_by(TierHistoryRow.period.desc()).limit(1)) or rules.tiers[0].name
    budget = next((b for b in rules.mdf if b.tier == tier), None)
    if budget is None:
        raise MdfError(f"mdf claim {reference}: tier {tier!r} has no MDF budget")
    first, last = budget_months(budget.period, claimed_on)
    used = session.scalar(select(func.sum(AccrualRow.amount)).where(
        AccrualRow.partner_id == partner_id, AccrualRow.kind == "mdf", AccrualRow.status != "rejected",
        AccrualRow.period >= first, AccrualRow.period <= last)) or Decimal(0)
    limit = round_money(budget.amount * calc.fx_rate(rules, budget.currency), rules.currency)
    value = round_money(amount * fx, rules.currency)
    if used + value > limit:
        raise MdfError(f"mdf claim {reference}: amount {value} {rules.currency} exceeds the remaining {tier} budget "
                       f"{round_money(limit - used, rules.currency)} {rules.currency} for {first}..{last}")
    row = AccrualRow(id=new_id(), key=key, partner_id=partner_id, rule="mdf", rule_version=1, kind="mdf",
                     period=period, amount=value, currency=rules.currency, source_amount=amount,
                     source_currency=currency, fx_rate=fx, **status_for(rules, value, now))
    session.add(row)
    return row

