"""Hub records as plain unified values: read, create, change and compare them, per entity.

Values are canonical (JSON-able, decimals without trailing zeros, UTC ISO times) so a value that
went round a system and came back compares equal to what we sent.
"""

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from mapping import normalize
from sync.store.tables import DealProductRow, DealRow, PartnerRow, new_id

PARTNER_FIELDS = ("name", "website", "email", "phone", "street", "city", "postal_code", "country", "tax_id",
                  "tier", "status")
DEAL_FIELDS = ("partner_id", "name", "customer_name", "customer_domain", "customer_country", "products", "amount",
               "stage", "registration_status", "is_partner_deal", "registered_at", "approved_at", "expires_at",
               "closed_at", "owner", "conflict_reason", "incentive_amount", "incentive_status")
FIELDS = {"partner": PARTNER_FIELDS, "deal": DEAL_FIELDS}
ROWS: dict[str, Any] = {"partner": PartnerRow, "deal": DealRow}
_DEAL_COLUMNS = tuple(f for f in DEAL_FIELDS if f not in {"products", "amount", "incentive_amount"})


def canonical(value: Any) -> Any:
    """A JSON-able value that compares equal across systems (`Decimal('5.00')` == `Decimal('5')`)."""
    if isinstance(value, BaseModel):
        return canonical(value.model_dump(exclude_none=True))
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return "0" if text in {"-0", "0"} else text
    if isinstance(value, datetime):
        return (normalize.utc(value) or value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): canonical(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    return value


def model_values(model: BaseModel, fields: Iterable[str]) -> dict[str, Any]:
    """Canonical values of the given fields of a validated unified model."""
    return {f: canonical(getattr(model, f)) for f in fields if f in type(model).model_fields}


def _money(amount: Decimal | None, currency: str | None) -> dict[str, Any] | None:
    return None if amount is None else canonical({"amount": amount, "currency": currency})


def values(session: Session, entity: str, hub_ids: Iterable[str], currency: str = "USD") -> dict[str, dict[str, Any]]:
    """Canonical values of many hub records at once (one query per table); incentives are in `currency`."""
    ids = list(hub_ids)
    if not ids:
        return {}
    if entity == "partner":
        partners = session.scalars(select(PartnerRow).where(PartnerRow.id.in_(ids)))
        return {p.id: {f: canonical(getattr(p, f)) for f in PARTNER_FIELDS} for p in partners}
    products: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    for p in session.scalars(select(DealProductRow).where(DealProductRow.deal_id.in_(ids))
                             .order_by(DealProductRow.deal_id, DealProductRow.id)):
        products[p.deal_id].append(canonical({"product": p.product, "family": p.family, "quantity": p.quantity,
                                              "amount": _money(p.amount, p.currency)}))
    found = {}
    for d in session.scalars(select(DealRow).where(DealRow.id.in_(ids))):
        row = {f: canonical(getattr(d, f)) for f in _DEAL_COLUMNS}
        row["amount"] = _money(d.amount, d.currency)
        row["incentive_amount"] = _money(d.incentive_amount, currency)
        row["products"] = products[d.id]
        found[d.id] = row
    return found


def write(session: Session, entity: str, hub_id: str | None, changes: Mapping[str, Any],
          modified_at: datetime | None) -> str:
    """Create (hub_id None) or change a hub record from canonical values; returns its hub id."""
    row_type = ROWS[entity]
    row = session.get(row_type, hub_id) if hub_id else None
    created = row is None
    if row is None:
        row = row_type(id=hub_id or new_id(), name=str(changes.get("name") or ""))
        session.add(row)
    for field, value in changes.items():
        if field == "products" and isinstance(row, DealRow):
            _write_products(session, row, value or [], replace=not created)
        elif field == "amount" and isinstance(row, DealRow):
            row.amount = Decimal(value["amount"]) if value else None
            row.currency = value["currency"] if value else None
        elif field == "incentive_amount" and isinstance(row, DealRow):
            row.incentive_amount = Decimal(value["amount"]) if value else None
        elif field in {"registered_at", "approved_at", "expires_at", "closed_at"}:
            setattr(row, field, normalize.utc(value))
        else:
            setattr(row, field, value)
    if modified_at is not None and (row.modified_at is None or modified_at > row.modified_at):
        row.modified_at = modified_at
    return row.id


def _write_products(session: Session, deal: DealRow, products: list[dict[str, Any]], *, replace: bool) -> None:
    """The deal's product lines become `products` (a new deal has none to delete). The flush writes the
    deal first: the tables have no mapped relationship to order the inserts by."""
    session.flush()
    if replace:
        session.query(DealProductRow).filter(DealProductRow.deal_id == deal.id).delete()
    for p in products:
        amount = p.get("amount") or {}
        session.add(DealProductRow(deal_id=deal.id, product=p["product"], family=p["family"],
                                   quantity=Decimal(p.get("quantity") or 1),
                                   amount=Decimal(amount["amount"]) if amount else None,
                                   currency=amount.get("currency")))


def modified(session: Session, entity: str, hub_ids: Iterable[str]) -> dict[str, datetime | None]:
    row_type = ROWS[entity]
    return dict(session.execute(select(row_type.id, row_type.modified_at).where(row_type.id.in_(list(hub_ids)))).all())


def match_partner(session: Session, incoming: Mapping[str, Any]) -> str | None:
    """An active hub partner with the same website domain or tax id (exact keys only: never a guess)."""
    keys = []
    if incoming.get("website"):
        keys.append(PartnerRow.website == incoming["website"])
    if incoming.get("tax_id"):
        keys.append(PartnerRow.tax_id == incoming["tax_id"])
    if not keys:
        return None
    # No autoflush: what is pending in the page came from the same system, so it can never be the match
    # (a record links at most once per system), and a flush per record is most of a page's cost.
    with session.no_autoflush:
        return session.scalars(select(PartnerRow.id).where(or_(*keys), PartnerRow.status == "active")
                               .order_by(PartnerRow.created_at).limit(1)).first()


def archive(session: Session, entity: str, hub_id: str, at: datetime) -> None:
    row = session.get(ROWS[entity], hub_id)
    if row is None:
        return
    row.deleted_at = at
    if isinstance(row, PartnerRow):
        row.status = "archived"
