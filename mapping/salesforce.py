"""Salesforce Account <-> Partner and Opportunity <-> Deal, with API names from settings. Pure: no I/O.

Amount and CurrencyIsoCode become one `Money`; StageName folds to open/won/lost; products come from
a multi-select picklist (`software;services`, pushed back the same way) or, read-only, from
OpportunityLineItems. `partner_id` carries the Salesforce Account Id of PartnerAccountId; the sync
engine turns it into a hub id through external_links.
"""

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from config.systems import SalesforceSettings
from mapping import normalize
from mapping.base import FieldMap, FieldSpec
from mapping.model import Deal, DealProduct, Money, Partner


def partner_map(settings: SalesforceSettings) -> FieldMap[Partner]:
    f = settings.fields
    specs = [FieldSpec("name", f.name), FieldSpec("website", f.website), FieldSpec("phone", f.phone),
             FieldSpec("street", f.street), FieldSpec("city", f.city), FieldSpec("postal_code", f.postal_code),
             FieldSpec("country", f.country), FieldSpec("tax_id", f.tax_id), FieldSpec("tier", f.tier),
             FieldSpec("accrued_ytd", f.accrued_ytd, to_system=_amount),
             FieldSpec("paid_ytd", f.paid_ytd, to_system=_amount),
             FieldSpec("last_payout_at", f.last_payout_at, to_system=_timestamp)]
    return FieldMap("salesforce", "partner", Partner, "Id", settings.external_id_field, "SystemModstamp",
                    tuple(specs))


def deal_map(settings: SalesforceSettings) -> FieldMap[Deal]:
    f = settings.fields
    specs = [
        FieldSpec("name", f.name),
        FieldSpec("partner_id", f.partner_account),
        FieldSpec("amount", f.amount, to_system=lambda m: None if m is None else str(_money(m).amount)),
        FieldSpec("stage", f.stage, to_hub=lambda s: stage(settings, s), to_system=lambda s: stage_name(settings, s)),
        FieldSpec("closed_at", f.close_date, to_hub=_day_start, to_system=_day),
        FieldSpec("owner", f.owner, read_only=True),
        FieldSpec("registered_at", "CreatedDate", read_only=True),
        FieldSpec("customer_name", f.customer_name),
        FieldSpec("customer_domain", f.customer_domain),
        FieldSpec("customer_country", f.customer_country),
        FieldSpec("registration_status", f.registration_status, to_hub=lambda s: (s or "submitted").lower()),
        FieldSpec("conflict_reason", f.conflict_reason),
        FieldSpec("expires_at", f.expires_at, to_system=_timestamp),
        FieldSpec("incentive_amount", f.incentive_amount, to_system=_amount),
        FieldSpec("incentive_status", f.incentive_status),
    ]
    if f.currency:
        specs.append(FieldSpec("amount", f.currency, to_system=lambda m: None if m is None else _money(m).currency))
    if settings.products_mode == "multi_select":
        specs.append(FieldSpec("products", settings.products_field, to_hub=products_from_picklist,
                               to_system=products_to_picklist))

    def extra(record: Mapping[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {"is_partner_deal": bool(record.get(f.partner_account)),
                                  "amount": money(record.get(f.amount), record.get(f.currency) if f.currency
                                                  else None, settings.default_currency)}
        if settings.products_mode == "line_items":
            values["products"] = products_from_line_items(record.get("OpportunityLineItems"),
                                                          record.get(f.currency) or settings.default_currency)
        return values

    return FieldMap("salesforce", "deal", Deal, "Id", settings.external_id_field, "SystemModstamp", tuple(specs),
                    references={"partner_id": "partner"}, extra=extra)


def field_maps(settings: SalesforceSettings) -> dict[str, FieldMap[Any]]:
    return {"partner": partner_map(settings), "deal": deal_map(settings)}


def stage(settings: SalesforceSettings, name: str | None) -> str:
    """Closed Won -> won, Closed Lost -> lost, any other StageName -> open."""
    if name == settings.won_stage:
        return "won"
    return "lost" if name == settings.lost_stage else "open"


def stage_name(settings: SalesforceSettings, value: str) -> str:
    return {"won": settings.won_stage, "lost": settings.lost_stage}.get(value, settings.open_stage)


def money(amount: Any, currency: str | None, default_currency: str) -> Money | None:
    if amount is None or amount == "":
        return None
    return Money(amount=Decimal(str(amount)), currency=currency or default_currency)


def _money(value: Money | Mapping[str, Any]) -> Money:
    return value if isinstance(value, Money) else Money.model_validate(value)


def products_from_picklist(value: str | None) -> list[DealProduct]:
    """`software;services` -> one product per value, its family the value itself."""
    names = [v.strip() for v in (value or "").split(";") if v.strip()]
    return [DealProduct(product=n, family=n) for n in dict.fromkeys(names)]


def products_to_picklist(products: list[DealProduct] | list[Mapping[str, Any]]) -> str | None:
    families = [p.family if isinstance(p, DealProduct) else str(p["family"]) for p in products]
    return ";".join(dict.fromkeys(families)) or None


def products_from_line_items(related: Mapping[str, Any] | None, currency: str) -> list[DealProduct]:
    """OpportunityLineItems (Product2.Name, Product2.Family, Quantity, TotalPrice) as deal products."""
    items = (related or {}).get("records") or []
    products = []
    for item in items:
        product = item.get("Product2") or {}
        name = product.get("Name") or "unknown"
        total = item.get("TotalPrice")
        products.append(DealProduct(product=name, family=product.get("Family") or name,
                                    quantity=Decimal(str(item.get("Quantity") or 1)),
                                    amount=None if total is None else Money(amount=Decimal(str(total)),
                                                                            currency=currency)))
    return products


def _day_start(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.combine(date.fromisoformat(str(value)[:10]), datetime.min.time(), tzinfo=UTC)


def _day(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    return (normalize.utc(value) or value).date().isoformat() if isinstance(value, datetime) else value.isoformat()


def _amount(value: Money | Mapping[str, Any] | None) -> str | None:
    return None if value is None else str(_money(value).amount)


def _timestamp(value: datetime | None) -> str | None:
    stamp = normalize.utc(value)
    return None if stamp is None else stamp.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
