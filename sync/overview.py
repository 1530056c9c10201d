"""What the ops dashboard shows besides stream health: the queues a person works, the period's payouts,
and reconciliation against the ERP (which may be unreachable: that is reported, never raised)."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from config import Settings
from connectors.base import ConnectorError
from sync.conflicts import open_conflicts
from sync.dedup import open_candidates
from sync.payouts import PayoutError, check_period
from sync.quarantine import listing
from sync.reconcile import Difference, check
from sync.rollups import pairs
from sync.store import Store
from sync.store.tables import (
    DealRow,
    DuplicateCandidateRow,
    PartnerRow,
    PayoutRow,
    RegistrationConflictRow,
    SyncErrorRow,
)

LIMIT = 100


@dataclass
class Overview:
    quarantine: list[SyncErrorRow] = field(default_factory=list)
    duplicates: list[DuplicateCandidateRow] = field(default_factory=list)
    conflicts: list[RegistrationConflictRow] = field(default_factory=list)
    payouts: list[PayoutRow] = field(default_factory=list)
    partners: dict[str, str] = field(default_factory=dict)  # partner id -> name
    deals: dict[str, DealRow] = field(default_factory=dict)


@dataclass
class Reconciliation:
    period: str
    differences: list[Difference] = field(default_factory=list)
    error: str | None = None


def names(session: Session, partner_ids: Iterable[str]) -> dict[str, str]:
    ids = list(dict.fromkeys(partner_ids))
    if not ids:
        return {}
    return pairs(session, select(PartnerRow.id, PartnerRow.name).where(PartnerRow.id.in_(ids)))


def load(store: Store, period: str, limit: int = LIMIT) -> Overview:
    """Open quarantine, duplicate and conflict queues, and the payouts of `period` (YYYY-MM)."""
    check_period(period)
    with store.session() as session:
        view = Overview(quarantine=listing(session, "open", limit), duplicates=open_candidates(session, limit),
                        conflicts=open_conflicts(session, limit))
        view.payouts = list(session.scalars(select(PayoutRow).where(PayoutRow.period == period)
                                            .order_by(PayoutRow.amount.desc()).limit(limit)))
        deal_ids = {i for c in view.conflicts for i in (c.deal_id, c.other_deal_id)}
        if deal_ids:
            view.deals = {d.id: d for d in session.scalars(select(DealRow).where(DealRow.id.in_(deal_ids)))}
        view.partners = names(session, [*(i for c in view.duplicates for i in (c.partner_a, c.partner_b)),
                                        *(p.partner_id for p in view.payouts),
                                        *(d.partner_id for d in view.deals.values() if d.partner_id)])
    return view


def reconciliation(store: Store, settings: Settings, period: str) -> Reconciliation:
    """The period's differences between hub payouts and the ERP's bills, or why the ERP could not be read."""
    from connectors.erp import erp_connector
    from sync.erp_payouts import bills

    result = Reconciliation(period)
    if not settings.erp.enabled:
        result.error = "the ERP is disabled (erp.enabled is false): nothing to reconcile against"
        return result
    try:
        check_period(period)
        found = bills(settings, erp_connector(settings.erp))
    except PayoutError as exc:
        result.error = str(exc)
        return result
    except (ConnectorError, ValueError) as exc:
        result.error = f"the ERP ({settings.erp.kind}) could not be read: {exc}"
        return result
    with store.session() as session:
        result.differences = check(session, period, found, datetime.now(UTC))
    return result
