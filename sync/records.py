"""Hub rows read and written as unified values (the JSON form of the pydantic model), per entity.

The engine merges, hashes and snapshots these plain values; only this module knows the columns.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from mapping.model import Deal, Partner
from sync.store.tables import DealProductRow, DealRow, PartnerRow, new_id

Values = dict[str, Any]
MODELS: dict[str, type[BaseModel]] = {"partner": Partner, "deal": Deal}
ROWS: dict[str, type[PartnerRow] | type[DealRow]] = {"partner": PartnerRow, "deal": DealRow}
SKIP = {"id", "modified_at"}


def values_of(model: BaseModel, keys: set[str] | None = None) -> Values:
    """The JSON form of a validated model, limited to `keys` (the fields a system actually sent)."""
    dumped: Values = model.model_dump(mode="json")
    return {k: v for k, v in dumped.items() if k not in SKIP and (keys is None or k in keys)}


def _get(session: Session, entity: str, hub_id: str) -> PartnerRow | DealRow | None:
    row: PartnerRow | DealRow | None = session.get(ROWS[entity], hub_id)  # type: ignore[assignment]
    return row


def load(session: Session, entity: str, hub_id: str) -> Values | None:
    """Current hub values of one record, or None when it does not exist."""
    row = _get(session, entity, hub_id)
    return None if row is None else _row_values(session, entity, row)


def modified_at(session: Session, entity: str, hub_id: str) -> datetime | None:
    row = _get(session, entity, hub_id)
    return None if row is None else row.modified_at


def _row_values(session: Session, entity: str, row: PartnerRow | DealRow) -> Values:
    model = MODELS[entity]
    raw = {name: getattr(row, name) for name in model.model_fields if hasattr(row, name) and name not in SKIP}
    if isinstance(row, DealRow):
        raw["amount"] = None if row.amount is None else {"amount": row.amount, "currency": row.currency}
        products = session.scalars(select(DealProductRow).where(DealProductRow.deal_id == row.id)
                                   .order_by(DealProductRow.id))
        raw["products"] = [{"product": p.product, "family": p.family, "quantity": p.quantity,
                            "amount": None if p.amount is None else {"amount": p.amount, "currency": p.currency}}
                           for p in products]
    return values_of(model.model_validate(raw))


def write(session: Session, entity: str, hub_id: str, values: Mapping[str, Any], at: datetime | None) -> None:
    """Create or update one hub row from unified values (only the keys given are touched)."""
    row = _get(session, entity, hub_id)
    if row is None:
        row = ROWS[entity](id=hub_id, name=str(values.get("name") or ""))
        session.add(row)
    model = MODELS[entity].model_validate({**_model_defaults(entity), **values})
    typed = {k: getattr(model, k) for k in values}
    for name, value in typed.items():
        if name == "amount" and isinstance(row, DealRow):
            row.amount, row.currency = (None, None) if value is None else (value.amount, value.currency)
        elif name == "products" and isinstance(row, DealRow):
            session.flush()
            session.execute(delete(DealProductRow).where(DealProductRow.deal_id == hub_id))
            session.add_all(DealProductRow(deal_id=hub_id, product=p.product, family=p.family, quantity=p.quantity,
                                           amount=p.amount.amount if p.amount else None,
                                           currency=p.amount.currency if p.amount else None) for p in value)
        elif hasattr(row, name):
            setattr(row, name, value)
    if at is not None and (row.modified_at is None or at > row.modified_at):
        row.modified_at = at


def _model_defaults(entity: str) -> Values:
    return {"name": "-"} if entity in MODELS else {}


def create(session: Session, entity: str, values: Mapping[str, Any], at: datetime | None) -> str:
    hub_id = new_id()
    write(session, entity, hub_id, values, at)
    return hub_id


def tombstone(session: Session, entity: str, hub_id: str, at: datetime) -> bool:
    """Mark a hub record deleted (partners also archived); False when it was gone already."""
    row = _get(session, entity, hub_id)
    if row is None or row.deleted_at is not None:
        return False
    row.deleted_at = at
    if isinstance(row, PartnerRow):
        row.status = "archived"
    return True


def match_keys(session: Session, entity: str, values: Mapping[str, Any]) -> list[str]:
    """Hub ids sharing an exact key (partners: registrable domain or tax id); deals have none."""
    if entity != "partner":
        return []
    terms = [c == values[k] for k, c in (("website", PartnerRow.website), ("tax_id", PartnerRow.tax_id))
             if values.get(k)]
    if not terms:
        return []
    return list(session.scalars(select(PartnerRow.id).where(or_(*terms), PartnerRow.deleted_at.is_(None))
                                .order_by(PartnerRow.created_at).limit(5)))


def typed(entity: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Unified values as model attributes (Money, datetimes, products), for a map's `to_system`."""
    model = MODELS[entity].model_validate({**_model_defaults(entity), **values})
    return {k: getattr(model, k) for k in values}
