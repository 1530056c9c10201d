"""HubSpot company <-> Partner and deal <-> Deal. Pure: no I/O.

Every HubSpot property value is text. `amount` + `deal_currency_code` become one `Money`; `dealstage`
folds to open/won/lost; products are a `;`-separated property of families; the deal's partner is the
associated company (`partner_company_id`, put on the record by the connector), a reference the engine
turns into a hub id.
"""

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from config.systems import HubSpotSettings
from mapping import normalize
from mapping.base import FieldMap, FieldSpec
from mapping.model import Deal, DealProduct, Money, Partner

WON, LOST = "closedwon", "closedlost"


def partner_map(settings: HubSpotSettings) -> FieldMap[Partner]:
    specs = (FieldSpec("name", "name"), FieldSpec("website", "domain"), FieldSpec("phone", "phone"),
             FieldSpec("street", "address"), FieldSpec("city", "city"), FieldSpec("postal_code", "zip"),
             FieldSpec("country", "country"), FieldSpec("tax_id", "partnersync_tax_id"),
             FieldSpec("tier", "partnersync_tier"),
             FieldSpec("accrued_ytd", "partnersync_accrued_ytd", to_system=_amount),
             FieldSpec("paid_ytd", "partnersync_paid_ytd", to_system=_amount),
             FieldSpec("last_payout_at", "partnersync_last_payout_at", to_system=_stamp))
    return FieldMap("hubspot", "partner", Partner, "id", settings.id_property, "hs_lastmodifieddate", specs)


def deal_map(settings: HubSpotSettings) -> FieldMap[Deal]:
    specs = (
        FieldSpec("name", "dealname"),
        FieldSpec("partner_id", "partner_company_id"),
        FieldSpec("stage", "dealstage", to_hub=stage, to_system=stage_id),
        FieldSpec("closed_at", "closedate", to_hub=normalize.utc, to_system=_stamp),
        FieldSpec("owner", "hubspot_owner_id", read_only=True),
        FieldSpec("registered_at", "createdate", to_hub=normalize.utc, read_only=True),
        FieldSpec("customer_name", "partnersync_customer_name"),
        FieldSpec("customer_domain", "partnersync_customer_domain"),
        FieldSpec("customer_country", "partnersync_customer_country"),
        FieldSpec("products", "partnersync_products", to_hub=products, to_system=products_text),
        FieldSpec("registration_status", "partnersync_registration_status",
                  to_hub=lambda s: (s or "submitted").lower()),
        FieldSpec("conflict_reason", "partnersync_conflict_reason"),
        FieldSpec("expires_at", "partnersync_expires_at", to_hub=normalize.utc, to_system=_stamp),
        FieldSpec("incentive_amount", "partnersync_incentive_amount", to_system=_amount),
        FieldSpec("incentive_status", "partnersync_incentive_status"),
        FieldSpec("amount", "amount", to_system=_amount),
        FieldSpec("amount", "deal_currency_code", to_system=lambda m: None if m is None else _money(m).currency),
    )

    def extra(record: Mapping[str, Any]) -> dict[str, Any]:
        return {"amount": money(record.get("amount"), record.get("deal_currency_code")),
                "is_partner_deal": bool(record.get("partner_company_id"))}

    return FieldMap("hubspot", "deal", Deal, "id", settings.id_property, "hs_lastmodifieddate", specs,
                    references={"partner_id": "partner"}, extra=extra)


def field_maps(settings: HubSpotSettings) -> dict[str, FieldMap[Any]]:
    return {"partner": partner_map(settings), "deal": deal_map(settings)}


def stage(value: str | None) -> str:
    return {WON: "won", LOST: "lost"}.get(value or "", "open")


def stage_id(value: str) -> str:
    return {"won": WON, "lost": LOST}.get(value, "appointmentscheduled")


def money(amount: Any, currency: Any) -> Money | None:
    try:
        return None if amount in (None, "") else Money(amount=Decimal(str(amount)), currency=currency or "USD")
    except InvalidOperation:
        raise ValueError(f"amount {amount!r} is not a number") from None


def _money(value: Money | Mapping[str, Any]) -> Money:
    return value if isinstance(value, Money) else Money.model_validate(value)


def _amount(value: Money | Mapping[str, Any] | None) -> str | None:
    return None if value is None else str(_money(value).amount)


def products(value: str | None) -> list[DealProduct]:
    names = [v.strip() for v in (value or "").split(";") if v.strip()]
    return [DealProduct(product=n, family=n) for n in dict.fromkeys(names)]


def products_text(items: list[DealProduct] | list[Mapping[str, Any]]) -> str | None:
    families = [p.family if isinstance(p, DealProduct) else str(p["family"]) for p in items]
    return ";".join(dict.fromkeys(families)) or None


def _stamp(value: datetime | None) -> str | None:
    stamp = normalize.utc(value)
    return None if stamp is None else stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"
