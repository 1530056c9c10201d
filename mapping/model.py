"""The unified model: what the hub stores, whatever system a record came from."""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator

from config.types import Currency
from mapping import normalize

UtcDateTime = Annotated[datetime, BeforeValidator(normalize.utc)]
CountryCode = Annotated[str | None, BeforeValidator(normalize.country)]


def _domain(value: str | None) -> str | None:
    return normalize.domain(value)


Domain = Annotated[str | None, AfterValidator(_domain)]
RegistrationStatus = Literal["draft", "submitted", "approved", "rejected", "expired"]
Stage = Literal["open", "won", "lost"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, validate_assignment=True)


class Money(_Model):
    """An amount and its currency; never a float."""

    model_config = ConfigDict(frozen=True)

    amount: Decimal
    currency: Currency

    @field_validator("amount", mode="before")
    @classmethod
    def _no_float(cls, value: object) -> object:
        if isinstance(value, float):
            return Decimal(repr(value))
        return value


class Partner(_Model):
    id: str | None = None
    name: str = Field(min_length=1)
    website: Domain = None
    email: str | None = None
    country: CountryCode = None
    phone: str | None = None
    street: str | None = None
    city: str | None = None
    postal_code: str | None = None
    tax_id: str | None = None
    tier: str | None = None
    # Incentive roll-ups the hub computes and writes to the CRMs (never read back).
    accrued_ytd: Money | None = None
    paid_ytd: Money | None = None
    last_payout_at: UtcDateTime | None = None
    status: Literal["active", "archived", "merged"] = "active"
    modified_at: UtcDateTime | None = None

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None, info: ValidationInfo) -> str | None:
        """E.164, reading a national number in the partner's own country (fields validate in order)."""
        if value is None:
            return None
        e164 = normalize.phone(value, info.data.get("country") or "US")
        if e164 is None:
            raise ValueError(f"not a phone number: {value!r}")
        return e164

    @field_validator("tax_id")
    @classmethod
    def _tax(cls, value: str | None) -> str | None:
        return normalize.tax_id(value)


class DealProduct(_Model):
    product: str = Field(min_length=1)
    family: str = Field(min_length=1)
    quantity: Decimal = Decimal(1)
    amount: Money | None = None


class Deal(_Model):
    """A registration: a partner's claim on an end customer's opportunity, or a direct opportunity."""

    id: str | None = None
    partner_id: str | None = None
    name: str = Field(min_length=1)
    customer_name: str | None = None
    customer_domain: Domain = None
    customer_country: CountryCode = None
    products: list[DealProduct] = []
    amount: Money | None = None
    stage: Stage = "open"
    registration_status: RegistrationStatus = "submitted"
    is_partner_deal: bool = True
    registered_at: UtcDateTime | None = None
    approved_at: UtcDateTime | None = None
    expires_at: UtcDateTime | None = None
    closed_at: UtcDateTime | None = None
    owner: str | None = None
    conflict_reason: str | None = None
    incentive_amount: Money | None = None
    incentive_status: str | None = None
    modified_at: UtcDateTime | None = None


class Accrual(_Model):
    """One line of incentive owed to a partner, keyed (deal, rule, version, kind)."""

    id: str | None = None
    partner_id: str
    deal_id: str | None = None
    rule: str
    rule_version: int = 1
    kind: Literal["commission", "spiff", "rebate", "mdf", "adjustment", "reversal"]
    period: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    amount: Money
    source_amount: Money | None = None
    fx_rate: Decimal | None = None
    status: Literal["pending", "approved", "rejected", "paid"] = "pending"
    approved_by: str | None = None
    approved_at: UtcDateTime | None = None


class Payout(_Model):
    """Approved accruals of one partner and period, paid by one ERP vendor bill."""

    id: str | None = None
    partner_id: str
    period: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    amount: Money
    status: Literal["approved", "sent", "paid", "partially_paid", "failed", "cancelled"] = "approved"
    erp_bill_id: str | None = None
    paid_amount: Money | None = None
    paid_at: UtcDateTime | None = None
    due_date: date | None = None
