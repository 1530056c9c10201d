"""One partner as a sales rep sees it on a CRM card: registrations, conflicts, accruals and payouts.

Found from the CRM record being viewed (a partner, or a deal of the partner) through `external_links`.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from sync.links import by_external
from sync.rollups import pairs
from sync.store import Store
from sync.store.tables import AccrualRow, DealRow, PartnerRow, PayoutRow, RegistrationConflictRow

LIMIT = 20
MERGE_HOPS = 10


@dataclass
class PartnerView:
    partner: PartnerRow
    deals: list[DealRow] = field(default_factory=list)
    conflicts: list[RegistrationConflictRow] = field(default_factory=list)
    deal_names: dict[str, str] = field(default_factory=dict)  # every deal a conflict names
    accrued: dict[tuple[str, str], Decimal] = field(default_factory=dict)  # (status, currency) -> total
    accruals: list[AccrualRow] = field(default_factory=list)
    payouts: list[PayoutRow] = field(default_factory=list)


def _partner_id(session: Session, entity: str, system: str, external_id: str) -> str | None:
    link = by_external(session, entity, system, [external_id]).get(external_id)
    if link is None or link.archived:
        return None
    if entity == "partner":
        return link.hub_id
    deal = session.get(DealRow, link.hub_id)
    return deal.partner_id if deal is not None else None


def _survivor(session: Session, partner_id: str) -> PartnerRow | None:
    """The partner, or the one it was merged into."""
    partner = session.get(PartnerRow, partner_id)
    for _ in range(MERGE_HOPS):
        if partner is None or partner.merged_into is None:
            break
        partner = session.get(PartnerRow, partner.merged_into)
    return partner


def find(store: Store, entity: str, system: str, external_id: str, limit: int = LIMIT) -> PartnerView | None:
    """The partner behind `system`'s `entity` record `external_id` (a partner or one of its deals), or None."""
    with store.session() as session:
        partner_id = _partner_id(session, entity, system, external_id)
        partner = _survivor(session, partner_id) if partner_id else None
        if partner is None:
            return None
        view = PartnerView(partner)
        mine = select(DealRow.id).where(DealRow.partner_id == partner.id)
        view.deals = list(session.scalars(select(DealRow).where(DealRow.partner_id == partner.id,
                                                                DealRow.deleted_at.is_(None))
                                          .order_by(DealRow.registered_at.desc(), DealRow.id).limit(limit)))
        view.conflicts = list(session.scalars(
            select(RegistrationConflictRow)
            .where(or_(RegistrationConflictRow.deal_id.in_(mine), RegistrationConflictRow.other_deal_id.in_(mine)))
            .order_by(RegistrationConflictRow.status != "open", RegistrationConflictRow.created_at.desc())
            .limit(limit)))
        named = {i for c in view.conflicts for i in (c.deal_id, c.other_deal_id)}
        if named:
            view.deal_names = pairs(session, select(DealRow.id, DealRow.name).where(DealRow.id.in_(named)))
        view.accrued = {(status, currency): total for status, currency, total in session.execute(
            select(AccrualRow.status, AccrualRow.currency, func.sum(AccrualRow.amount))
            .where(AccrualRow.partner_id == partner.id)
            .group_by(AccrualRow.status, AccrualRow.currency).order_by(AccrualRow.status, AccrualRow.currency))}
        view.accruals = list(session.scalars(select(AccrualRow).where(AccrualRow.partner_id == partner.id)
                                             .order_by(AccrualRow.created_at.desc()).limit(limit)))
        view.payouts = list(session.scalars(select(PayoutRow).where(PayoutRow.partner_id == partner.id)
                                            .order_by(PayoutRow.period.desc()).limit(limit)))
    return view
