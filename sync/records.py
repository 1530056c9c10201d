"""Hub records as plain unified values: read, create, change and compare them, per entity.

Values are canonical (JSON-able, decimals without trailing zeros, UTC ISO times) so a value that
went round a system and came back compares equal to what we sent.
"""

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Executable, bindparam, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from mapping import normalize
from mapping.names import name_key, phonetic_key
from sync.store.tables import Base, DealProductRow, DealRow, PartnerRow, new_id

PARTNER_FIELDS = ("name", "website", "email", "phone", "street", "city", "postal_code", "country", "tax_id",
                  "tier", "status", "accrued_ytd", "paid_ytd", "last_payout_at")
_MONEY = frozenset({"incentive_amount", "accrued_ytd", "paid_ytd"})  # in the program currency
DEAL_FIELDS = ("partner_id", "name", "customer_name", "customer_domain", "customer_country", "products", "amount",
               "stage", "registration_status", "is_partner_deal", "registered_at", "approved_at", "expires_at",
               "closed_at", "owner", "conflict_reason", "incentive_amount", "incentive_status")
FIELDS = {"partner": PARTNER_FIELDS, "deal": DEAL_FIELDS}
_DEAL_COLUMNS = tuple(f for f in DEAL_FIELDS if f not in {"products", "amount", "incentive_amount"})
_PLAIN = frozenset({str, int, bool, float})
_TIMES = frozenset({"registered_at", "approved_at", "expires_at", "closed_at", "last_payout_at"})
_PARTNERS, _DEALS, _PRODUCTS = (Base.metadata.tables[r.__tablename__] for r in (PartnerRow, DealRow, DealProductRow))
TABLES = {"partner": _PARTNERS, "deal": _DEALS}
MODELS: dict[str, Any] = {"partner": PartnerRow, "deal": DealRow}


def canonical(value: Any) -> Any:
    """A JSON-able value that compares equal across systems (`Decimal('5.00')` == `Decimal('5')`)."""
    if value is None or type(value) in _PLAIN:  # most values: no conversion, no isinstance chain
        return value
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
    """Canonical values of many hub records at once (one query per table, plain rows: nothing lands in the
    session's identity map to go stale); incentives are in `currency`."""
    ids = list(dict.fromkeys(hub_ids))
    if not ids:
        return {}
    if entity == "partner":
        partners = session.execute(select(_PARTNERS.c.id, *(_PARTNERS.c[f] for f in PARTNER_FIELDS))
                                   .where(_PARTNERS.c.id.in_(ids)))
        return {p.id: {f: _money(p._mapping[f], currency) if f in _MONEY else canonical(p._mapping[f])
                       for f in PARTNER_FIELDS} for p in partners}
    products: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    for p in session.execute(select(_PRODUCTS).where(_PRODUCTS.c.deal_id.in_(ids))
                             .order_by(_PRODUCTS.c.deal_id, _PRODUCTS.c.id)):
        products[p.deal_id].append(canonical({"product": p.product, "family": p.family, "quantity": p.quantity,
                                              "amount": _money(p.amount, p.currency)}))
    found = {}
    for d in session.execute(select(_DEALS).where(_DEALS.c.id.in_(ids))):
        row = {f: canonical(d._mapping[f]) for f in _DEAL_COLUMNS}
        row["amount"] = _money(d.amount, d.currency)
        row["incentive_amount"] = _money(d.incentive_amount, currency)
        row["products"] = products[d.id]
        found[d.id] = row
    return found


def columns(entity: str, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Column values of canonical field changes (products are rows of their own: see `Writer`)."""
    out: dict[str, Any] = {}
    for field, value in changes.items():
        if field not in FIELDS[entity] or field == "products":
            continue
        if field == "amount":
            out["amount"] = Decimal(value["amount"]) if value else None
            out["currency"] = value["currency"] if value else None
        elif field in _MONEY:
            out[field] = Decimal(value["amount"]) if value else None
        elif field in _TIMES:
            out[field] = normalize.utc(value)
        else:
            out[field] = value
    return out


class Writer:
    """The hub record writes of one page, kept in memory and written by `flush` as one executemany per
    table and shape of row (instead of a unit-of-work flush per record)."""

    def __init__(self, entity: str, modified: dict[str, datetime | None]) -> None:
        self.entity = entity
        self.table = TABLES[entity]
        self.modified = modified  # hub id -> the record's modified_at, kept current as the page writes
        self.created: dict[str, dict[str, Any]] = {}
        self.changed: dict[str, dict[str, Any]] = {}
        self.products: dict[str, list[dict[str, Any]]] = {}

    def write(self, hub_id: str | None, changes: Mapping[str, Any], modified_at: datetime | None, *,
              exists: bool) -> str:
        """Create (`exists` False; a new id when `hub_id` is None) or change a hub record; returns its id."""
        if not exists and hub_id not in self.created:
            hub_id = hub_id or new_id()
            self.created[hub_id] = {"id": hub_id, "name": str(changes.get("name") or "")}
        assert hub_id is not None
        row = self.created.get(hub_id) or self.changed.setdefault(hub_id, {})
        row.update(columns(self.entity, changes))
        if self.entity == "partner" and "name" in changes:
            # the name's blocking keys travel with it: the dedup rule re-keys the partner in the same
            # transaction and then has nothing to write (no UPDATE per partner)
            row["name_key"] = key = name_key(changes["name"])
            row["phonetic_key"] = phonetic_key(key)
        if "products" in changes:
            self.products[hub_id] = changes["products"] or []
        known = self.modified.get(hub_id)
        if modified_at is not None and (known is None or modified_at > known):
            row["modified_at"] = self.modified[hub_id] = modified_at
        return hub_id

    def flush(self, session: Session) -> None:
        executemany(session, insert(self.table), self.created.values())
        executemany(session, update(self.table).where(self.table.c.id == bindparam("hub_id")),
                    ({"hub_id": hub_id, **row} for hub_id, row in self.changed.items() if row))
        replaced = [hub_id for hub_id in self.products if hub_id not in self.created]
        if replaced:
            session.execute(delete(_PRODUCTS).where(_PRODUCTS.c.deal_id.in_(replaced)))
        executemany(session, insert(_PRODUCTS), (_product(hub_id, p) for hub_id, lines in self.products.items()
                                                 for p in lines))


def executemany(session: Session, statement: Executable, rows: Iterable[dict[str, Any]]) -> None:
    """One executemany per set of keys (a statement's columns come from its parameters)."""
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        shapes.setdefault(tuple(row), []).append(row)
    for batch in shapes.values():
        session.execute(statement, batch)


def _product(deal_id: str, line: Mapping[str, Any]) -> dict[str, Any]:
    amount = line.get("amount") or {}
    return {"deal_id": deal_id, "product": line["product"], "family": line["family"],
            "quantity": Decimal(line.get("quantity") or 1), "amount": Decimal(amount["amount"]) if amount else None,
            "currency": amount.get("currency")}


def modified(session: Session, entity: str, hub_ids: Iterable[str]) -> dict[str, datetime | None]:
    table = TABLES[entity]
    return dict(session.execute(select(table.c.id, table.c.modified_at).where(table.c.id.in_(list(hub_ids)))).all())


def rows(session: Session, entity: str, hub_ids: Collection[str]) -> list[Any]:
    """The hub records as ORM rows, in one query. While the caller holds them they stay in the session's
    identity map, so the rules that follow get each by id without a query of its own."""
    model = MODELS[entity]
    return list(session.scalars(select(model).where(model.id.in_(list(hub_ids))))) if hub_ids else []


def match_partners(session: Session, wanted: Sequence[Mapping[str, Any]]) -> list[str | None]:
    """Per incoming partner, the oldest active hub partner with the same website domain or tax id (exact keys
    only: never a guess), in one query for the page. Rows the page itself writes are not searched: they
    came from the same system, so they can never be the match (a record links at most once per system)."""
    sites = {v["website"] for v in wanted if v.get("website")}
    taxes = {v["tax_id"] for v in wanted if v.get("tax_id")}
    keys = [c.in_(found) for c, found in ((_PARTNERS.c.website, sites), (_PARTNERS.c.tax_id, taxes)) if found]
    if not keys:
        return [None] * len(wanted)
    by_site: dict[str, int] = {}
    by_tax: dict[str, int] = {}
    ids = []
    rows = session.execute(select(_PARTNERS.c.id, _PARTNERS.c.website, _PARTNERS.c.tax_id)
                           .where(or_(*keys), _PARTNERS.c.status == "active")
                           .order_by(_PARTNERS.c.created_at, _PARTNERS.c.id))
    for rank, row in enumerate(rows):
        ids.append(row.id)
        if row.website:
            by_site.setdefault(row.website, rank)
        if row.tax_id:
            by_tax.setdefault(row.tax_id, rank)
    found: list[str | None] = []
    for v in wanted:
        ranks = [r for r in (by_site.get(v.get("website") or ""), by_tax.get(v.get("tax_id") or "")) if r is not None]
        found.append(ids[min(ranks)] if ranks else None)
    return found


def archive(session: Session, entity: str, hub_ids: Collection[str], at: datetime) -> None:
    """Mark hub records deleted (partners also `archived`), in one statement."""
    if not hub_ids:
        return
    table = TABLES[entity]
    marks: dict[str, Any] = {"deleted_at": at, **({"status": "archived"} if entity == "partner" else {})}
    session.execute(update(table).where(table.c.id.in_(list(hub_ids))).values(marks))
