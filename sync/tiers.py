"""Partner tiers: from trailing won revenue, recomputed per period, with the history kept."""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.program import ProgramRules
from sync.store.tables import TierHistoryRow


@dataclass(frozen=True)
class TierAt:
    tier: str
    trailing_revenue: Decimal


def shift(period: str, months: int) -> str:
    """`period` (YYYY-MM) moved by `months`."""
    index = int(period[:4]) * 12 + int(period[5:7]) - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def tier_at(rules: ProgramRules, months: dict[str, Decimal], period: str) -> TierAt:
    """The tier earned in `period`: won revenue of the `trailing_months` months before it (the period itself
    excluded, so a deal never lifts its own rate)."""
    start = shift(period, -rules.trailing_months)
    trailing = sum((v for p, v in months.items() if start <= p < period), Decimal(0))
    return TierAt(rules.tier_for(trailing), trailing)


def record(session: Session, partner_id: str, tiers: dict[str, TierAt], known: dict[str, TierHistoryRow]) -> None:
    """Upsert the partner's tier per period into `tier_history` (only rows that changed are written)."""
    for period, at in tiers.items():
        row = known.get(period)
        if row is None:
            session.add(TierHistoryRow(partner_id=partner_id, period=period, tier=at.tier,
                                       trailing_revenue=at.trailing_revenue))
        elif (row.tier, row.trailing_revenue) != (at.tier, at.trailing_revenue):
            row.tier, row.trailing_revenue = at.tier, at.trailing_revenue


def history(session: Session, partner_ids: Iterable[str]) -> dict[str, dict[str, TierHistoryRow]]:
    """Stored tier history of these partners: partner -> period -> row."""
    result: dict[str, dict[str, TierHistoryRow]] = {}
    for row in session.scalars(select(TierHistoryRow).where(TierHistoryRow.partner_id.in_(list(partner_ids)))):
        result.setdefault(row.partner_id, {})[row.period] = row
    return result
