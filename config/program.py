"""Program rules: tiers, incentives, registration policy, dedup thresholds, per-field sync rules."""

import re
from datetime import date
from decimal import Decimal
from itertools import pairwise
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from config.types import ENTITIES, SYSTEMS, Amount, Currency, Rate, one_of

_RULE = re.compile(r"^(two_way|none|(prefer|from):([a-z]+))$")


def _field_rule(rule: str) -> str:
    match = _RULE.match(rule)
    if match is None:
        raise ValueError(f"unknown field rule {rule!r}; expected two_way, none, prefer:<system> or from:<system>")
    if match.group(3) and match.group(3) not in SYSTEMS:
        raise ValueError(f"unknown system {match.group(3)!r} in rule {rule!r}")
    return rule


FieldRule = Annotated[str, AfterValidator(_field_rule)]
Entity = Annotated[str, AfterValidator(one_of(ENTITIES, "entity"))]


class _Rules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Tier(_Rules):
    name: str = Field(min_length=1)
    min_revenue: Amount


class Commission(_Rules):
    """Rate by tier x product family; `version` is part of every accrual key."""

    version: int = Field(default=1, ge=1)
    rates: dict[str, dict[str, Rate]] = {}


class Spiff(_Rules):
    """A fixed amount per qualifying won deal closed inside [starts, ends]."""

    name: str = Field(min_length=1)
    version: int = Field(default=1, ge=1)
    amount: Annotated[Decimal, Field(gt=0)]
    currency: Currency
    product_families: list[str] = []
    min_deal_amount: Amount = Decimal(0)
    starts: date
    ends: date

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.ends < self.starts:
            raise ValueError(f"ends {self.ends} is before starts {self.starts}")
        return self


class RebateBand(_Rules):
    """Revenue band [from_revenue, up_to) with its rate; `up_to` null is open-ended."""

    from_revenue: Amount
    up_to: Amount | None = None
    rate: Rate


class Rebates(_Rules):
    version: int = Field(default=1, ge=1)
    mode: Literal["retroactive", "marginal"] = "retroactive"
    period: Literal["quarter", "year"] = "quarter"
    bands: list[RebateBand] = []

    @model_validator(mode="after")
    def _contiguous(self) -> Self:
        expected = Decimal(0)
        for i, band in enumerate(self.bands):
            if band.from_revenue != expected:
                kind = "gap" if band.from_revenue > expected else "overlap"
                raise ValueError(f"band {i} starts at {band.from_revenue}: {kind} after {expected}")
            if band.up_to is None:
                if i != len(self.bands) - 1:
                    raise ValueError(f"band {i} is open-ended but is not the last band")
                break
            if band.up_to <= band.from_revenue:
                raise ValueError(f"band {i} ends at {band.up_to}, not after its start {band.from_revenue}")
            expected = band.up_to
        return self


class MdfBudget(_Rules):
    tier: str
    amount: Amount
    currency: Currency
    period: Literal["quarter", "year"] = "quarter"


class Approval(_Rules):
    """Accruals below `auto_approve_below` (program currency) approve themselves."""

    auto_approve_below: Amount = Decimal("1000")


class Registration(_Rules):
    protection_days: int = Field(default=90, gt=0)
    approval_sla_hours: int = Field(default=48, gt=0)
    policy: Literal["first_to_register", "manual"] = "first_to_register"
    customer_name_threshold: float = Field(default=0.9, gt=0, le=1)


class Dedup(_Rules):
    auto_merge: float = Field(default=0.92, gt=0, le=1)
    review: float = Field(default=0.75, gt=0, le=1)
    survivorship: dict[str, str] = {}
    preferred_system: str = "salesforce"
    loser_action: Literal["archive", "ignore"] = "archive"

    @model_validator(mode="after")
    def _order(self) -> Self:
        if self.review >= self.auto_merge:
            raise ValueError(f"review ({self.review}) must be below auto_merge ({self.auto_merge})")
        return self


class ProgramRules(_Rules):
    """Everything the program team tunes; validated whole before anything runs."""

    currency: Currency = "USD"
    trailing_months: int = Field(default=12, ge=1, le=36)
    tiers: list[Tier] = [Tier(name="registered", min_revenue=Decimal(0))]
    commission: Commission = Commission()
    spiffs: list[Spiff] = []
    rebates: Rebates = Rebates()
    mdf: list[MdfBudget] = []
    fx_rates: dict[Currency, Annotated[Decimal, Field(gt=0)]] = {}
    approval: Approval = Approval()
    registration: Registration = Registration()
    dedup: Dedup = Dedup()
    field_rules: dict[Entity, dict[str, FieldRule]] = {}
    delete_policy: dict[Entity, Literal["archive", "delete", "ignore"]] = {}

    @field_validator("tiers")
    @classmethod
    def _ascending(cls, tiers: list[Tier]) -> list[Tier]:
        if not tiers or tiers[0].min_revenue != 0:
            raise ValueError("the first tier must start at min_revenue 0")
        for prev, cur in pairwise(tiers):
            if cur.min_revenue <= prev.min_revenue:
                raise ValueError(
                    f"out of order: {cur.name!r} ({cur.min_revenue}) must be above "
                    f"{prev.name!r} ({prev.min_revenue})"
                )
        return tiers

    @model_validator(mode="after")
    def _known_tiers(self) -> Self:
        names = [t.name for t in self.tiers]
        for tier in self.commission.rates:
            if tier not in names:
                raise ValueError(f"commission.rates: unknown tier {tier!r}")
        families = {f for rates in self.commission.rates.values() for f in rates}
        for tier in names if self.commission.rates else []:
            missing = sorted(families - set(self.commission.rates.get(tier, {})))
            if missing:
                raise ValueError(f"commission.rates: gap: tier {tier!r} has no rate for {', '.join(missing)}")
        if self.currency in self.fx_rates and self.fx_rates[self.currency] != 1:
            raise ValueError(f"fx_rates: {self.currency} is the program currency; its rate must be 1")
        for budget in self.mdf:
            if budget.tier not in names:
                raise ValueError(f"mdf: unknown tier {budget.tier!r}")
        return self

    def field_rule(self, entity: str, field: str) -> str:
        """The rule for one field; unlisted fields sync two-way."""
        return self.field_rules.get(entity, {}).get(field, "two_way")

    def tier_for(self, revenue: Decimal) -> str:
        """The highest tier whose threshold the trailing revenue reaches."""
        return [t.name for t in self.tiers if revenue >= t.min_revenue][-1]
