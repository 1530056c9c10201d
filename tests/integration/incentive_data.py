"""Builders for incentive tests: a small program and hub rows written through the real store."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from config import Settings
from config.program import ProgramRules
from sync.store.tables import DealProductRow, DealRow, ExternalLinkRow, PartnerRow

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def program(**overrides: Any) -> ProgramRules:
    rules: dict[str, Any] = {
        "currency": "USD",
        "trailing_months": 12,
        "tiers": [{"name": "registered", "min_revenue": 0}, {"name": "silver", "min_revenue": 100000}],
        "commission": {"version": 1, "rates": {"registered": {"software": "0.05", "services": "0.03"},
                                               "silver": {"software": "0.10", "services": "0.05"}}},
        "spiffs": [{"name": "launch", "amount": 500, "currency": "USD", "product_families": ["software"],
                    "min_deal_amount": 10000, "starts": "2026-10-01", "ends": "2026-10-31"}],
        "rebates": {"mode": "retroactive", "period": "quarter",
                    "bands": [{"from_revenue": 0, "up_to": 100000, "rate": 0},
                              {"from_revenue": 100000, "up_to": 500000, "rate": "0.01"},
                              {"from_revenue": 500000, "rate": "0.02"}]},
        "mdf": [{"tier": "silver", "amount": 10000, "currency": "USD", "period": "quarter"}],
        "fx_rates": {"EUR": "1.08", "JPY": "0.0067"},
        "approval": {"auto_approve_below": 1000},
    }
    rules.update(overrides)
    return ProgramRules.model_validate(rules)


def settings(erp: str = "netsuite", **overrides: Any) -> Settings:
    return Settings(program=program(**overrides), erp={"kind": erp})


def partner(s: Session, pid: str, **links: str) -> None:
    s.add(PartnerRow(id=pid, name=f"Partner {pid}"))
    s.flush()
    for system, external_id in links.items():
        s.add(ExternalLinkRow(entity="partner", hub_id=pid, system=system, external_id=external_id))


def deal(s: Session, did: str, pid: str, closed: str, amount: str, currency: str = "USD",
         products: dict[str, str] | None = None, stage: str = "won") -> None:
    s.add(DealRow(id=did, partner_id=pid, name=f"Deal {did}", amount=Decimal(amount), currency=currency,
                  stage=stage, closed_at=datetime.fromisoformat(closed).replace(tzinfo=UTC)))
    s.flush()
    for family, value in (products or {"software": amount}).items():
        s.add(DealProductRow(deal_id=did, product=f"{family} licence", family=family, amount=Decimal(value),
                             currency=currency))
