"""Deal-registration conflicts: who claimed this end customer first, and telling the reps.

A registration conflicts with another when the end customer matches (same domain, or a fuzzy name in the
same country), a product family overlaps and both are active (submitted or approved, not expired). The same
partner registering the same deal twice, and an open direct opportunity for the customer, are flagged too.
Candidates come from index equalities (domain; name key or phonetic key within the country; product
family), never a scan; the fuzzy name score then decides among them.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler
from sqlalchemy import Boolean, Integer, Select, String, and_, bindparam, column, func, or_, select
from sqlalchemy.orm import Session, aliased

from config.program import Registration
from mapping.names import name_key, phonetic_key
from sync.context import RuleContext
from sync.outbox import enqueue, live_links
from sync.store.tables import DealProductRow, DealRow, RegistrationConflictRow
from sync.store.types import UTCDateTime

ACTIVE = ("submitted", "approved")
WRITE_BACK = ("registration_status", "conflict_flag", "conflict_reason", "expires_at", "sla_breached")
CANDIDATE_LIMIT = 50


class ConflictError(ValueError):
    """A resolution that cannot be applied (the message says why)."""


def customer_similarity(a: str | None, b: str | None) -> float:
    if not a or not b:
        return 0.0
    return 0.5 * fuzz.token_sort_ratio(a, b) / 100 + 0.5 * JaroWinkler.normalized_similarity(a, b)


def refresh(deal: DealRow, rules: Registration, now: datetime) -> None:
    """Keys, protection window, expiry and approval SLA of one deal, from its own fields."""
    deal.customer_key = name_key(deal.customer_name)
    deal.customer_phonetic = phonetic_key(deal.customer_key)
    if deal.is_partner_deal and deal.expires_at is None and deal.registration_status in ACTIVE:
        deal.expires_at = (deal.registered_at or deal.created_at or now) + timedelta(days=rules.protection_days)
    if deal.registration_status in ACTIVE and deal.expires_at is not None and deal.expires_at <= now:
        deal.registration_status = "expired"
    due = (deal.registered_at or deal.created_at or now) + timedelta(hours=rules.approval_sla_hours)
    deal.sla_breached = deal.is_partner_deal and deal.registration_status == "submitted" and due <= now


@dataclass(slots=True)
class Rival:
    """What the checks need of a possibly-conflicting deal: its columns, not a loaded ORM object."""

    id: str
    partner_id: str | None
    is_partner_deal: bool
    customer_domain: str | None
    customer_country: str | None
    customer_key: str | None
    registered: datetime
    families: set[str] = field(default_factory=set)  # the product families it shares with the checked deal
    known: set[str] = field(default_factory=set)  # rules already recorded between the two deals


_CONFLICT = RegistrationConflictRow
# id, partner, partner deal?, domain, country, name key, registered, shared family, rule already recorded
RivalsQuery = Select[str, str | None, bool, str | None, str | None, str | None, datetime, str, str | None]


def _rivals_query() -> RivalsQuery:
    """Built once with bind parameters: a check costs the lookup, not statement building.

    Same customer = same domain, or in the same country the same name key or the same phonetic key
    (three index equalities), so the candidate set is the customer's own deals, not a range scan. A missing
    domain or name is bound as NULL, which equals nothing: one statement for every deal. One row per
    (rival, shared product family, conflict already recorded between the two): one round trip per check.
    PostgreSQL runs the same query as the function `partnersync_deal_rivals` (migration conflicts1).
    """
    same_customer = or_(DealRow.customer_domain == bindparam("domain"),
                        and_(DealRow.customer_key == bindparam("key"),
                             DealRow.customer_country == bindparam("country")),
                        and_(DealRow.customer_country == bindparam("country"),
                             DealRow.customer_phonetic == bindparam("phonetic")))
    # equalities, not IN (...): an expanding IN would rewrite the SQL text on every execution
    status = or_(*(DealRow.registration_status == value for value in ACTIVE))
    active_partner = and_(DealRow.is_partner_deal.is_(True), status,
                          or_(DealRow.expires_at.is_(None), DealRow.expires_at > bindparam("now")))
    open_direct = and_(DealRow.is_partner_deal.is_(False), DealRow.stage == "open")
    mine = aliased(DealProductRow)
    known = or_(and_(_CONFLICT.deal_id == bindparam("deal_id"), _CONFLICT.other_deal_id == DealRow.id),
                and_(_CONFLICT.deal_id == DealRow.id, _CONFLICT.other_deal_id == bindparam("deal_id")))
    return (select(DealRow.id, DealRow.partner_id, DealRow.is_partner_deal, DealRow.customer_domain,
                   DealRow.customer_country, DealRow.customer_key,
                   func.coalesce(DealRow.registered_at, DealRow.created_at), DealProductRow.family, _CONFLICT.rule)
            .join(DealProductRow, DealProductRow.deal_id == DealRow.id)
            .outerjoin(_CONFLICT, known)
            .where(same_customer, DealRow.id != bindparam("deal_id"), DealRow.deleted_at.is_(None),
                   or_(active_partner, open_direct),
                   # an expression, not the bare column: without table statistics (SQLite is never ANALYZEd)
                   # a planner would otherwise drive the lookup from every deal of the product family
                   func.coalesce(DealProductRow.family, "").in_(
                       select(mine.family).where(mine.deal_id == bindparam("deal_id"))))
            .limit(bindparam("limit", type_=Integer)))


def _rivals_function() -> RivalsQuery:
    """The query above through the server function: PostgreSQL keeps its plan for the session (migration
    conflicts1), where a statement would be parsed and planned again after every ROLLBACK."""
    rows = func.partnersync_deal_rivals(
        bindparam("deal_id", type_=String), bindparam("now", type_=UTCDateTime()), bindparam("domain", type_=String),
        bindparam("key", type_=String), bindparam("country", type_=String), bindparam("phonetic", type_=String),
        bindparam("limit", type_=Integer),
    ).table_valued(column("id", String), column("partner_id", String), column("is_partner_deal", Boolean),
                   column("customer_domain", String), column("customer_country", String),
                   column("customer_key", String), column("registered", UTCDateTime()), column("family", String),
                   column("rule", String))
    return select(*rows.c)


_RIVALS = _rivals_query()
_RIVALS_FUNCTION = _rivals_function()


def rival_params(deal: DealRow, now: datetime) -> dict[str, Any] | None:
    """The lookup's parameters for `deal`; None when it has neither a domain nor a name key and country."""
    by_name = bool(deal.customer_key and deal.customer_country)
    if not deal.customer_domain and not by_name:
        return None
    return {"deal_id": deal.id, "now": now, "domain": deal.customer_domain or None, "limit": CANDIDATE_LIMIT,
            "key": deal.customer_key if by_name else None, "country": deal.customer_country if by_name else None,
            "phonetic": deal.customer_phonetic if by_name else None}


def rivals(session: Session, deal: DealRow, now: datetime) -> list[Rival]:
    """Active deals for a possibly-same customer sharing a product family with `deal` (one query)."""
    params = rival_params(deal, now)
    if params is None:
        return []
    conn = session.connection()
    query = _RIVALS_FUNCTION if conn.dialect.name == "postgresql" else _RIVALS
    found: dict[str, Rival] = {}
    rows = conn.execute(query, params)  # Core: plain rows, no ORM loading
    for deal_id, partner_id, partner_deal, domain, country, key, registered, family, rule in rows:
        rival = found.get(deal_id)
        if rival is None:
            rival = found[deal_id] = Rival(deal_id, partner_id, partner_deal, domain, country, key, registered)
        rival.families.add(family)
        if rule is not None:
            rival.known.add(rule)
    return list(found.values())


def evidence(deal: DealRow, other: Rival, rules: Registration) -> dict[str, Any] | None:
    """Why two deals are for the same customer, or None when they are not."""
    found: dict[str, Any] = {"families": sorted(other.families)}
    if deal.customer_domain and deal.customer_domain == other.customer_domain:
        found["domain"] = deal.customer_domain
        return found
    if deal.customer_country and deal.customer_country == other.customer_country:
        similarity = customer_similarity(deal.customer_key, other.customer_key)
        if similarity >= rules.customer_name_threshold:
            found.update(customer_name=round(similarity, 3), country=deal.customer_country)
            return found
    return None


def _registered(deal: DealRow) -> datetime:
    return deal.registered_at or deal.created_at


def _rule(deal: DealRow, other: Rival) -> str:
    if not other.is_partner_deal or not deal.is_partner_deal:
        return "direct_opportunity"
    if deal.partner_id is not None and deal.partner_id == other.partner_id:
        return "duplicate_registration"
    return "customer_overlap"


def _reason(rule: str, other_id: str) -> str:
    return {
        "customer_overlap": f"customer already registered by another partner (deal {other_id})",
        "duplicate_registration": f"same partner registered this deal already (deal {other_id})",
        "direct_opportunity": f"open direct opportunity for this customer (deal {other_id})",
    }[rule]


def decide(conflict: RegistrationConflictRow, winner_id: str, loser: DealRow, resolution: str, by: str,
           now: datetime) -> None:
    """Record the outcome: the loser's registration is rejected and carries the reason."""
    conflict.status, conflict.winner_deal_id = "resolved", winner_id
    conflict.resolution, conflict.resolved_by, conflict.resolved_at = resolution, by, now
    if loser.is_partner_deal:
        loser.registration_status = "rejected"
        loser.conflict_flag, loser.conflict_reason = True, _reason(conflict.rule, winner_id)


def check(session: Session, rules: Registration, deal: DealRow, now: datetime,
          before: dict[str, tuple[DealRow, dict[str, Any]]] | None = None) -> list[RegistrationConflictRow]:
    """Find and store the conflicts of one deal and apply the policy; returns the new conflicts.

    `before` collects each touched deal with its registration fields as they were, for the write-back.
    """
    touched = {} if before is None else before
    touched.setdefault(deal.id, (deal, _state(deal)))
    session.flush()  # the deal's products, if pending, must be visible to the lookup
    with session.no_autoflush:
        refresh(deal, rules, now)
        created = _check(session, rules, deal, now, touched)
    session.flush()  # one write of the deal's fields and the conflicts found
    return created


def _load(session: Session, deal_id: str, touched: dict[str, tuple[DealRow, dict[str, Any]]]) -> DealRow:
    """The ORM object of a rival the policy changes (most checks change only the deal checked)."""
    row = session.get(DealRow, deal_id)
    assert row is not None  # it was just found
    touched.setdefault(row.id, (row, _state(row)))
    return row


def _check(session: Session, rules: Registration, deal: DealRow, now: datetime,
           touched: dict[str, tuple[DealRow, dict[str, Any]]]) -> list[RegistrationConflictRow]:
    active = deal.registration_status in ACTIVE if deal.is_partner_deal else deal.stage == "open"
    if not active or deal.deleted_at is not None:
        return []
    others = [o for o in rivals(session, deal, now) if deal.is_partner_deal or o.is_partner_deal]
    found = [(o, e) for o in others if (e := evidence(deal, o, rules)) is not None]
    created: list[RegistrationConflictRow] = []
    for other, why in found:
        rule = _rule(deal, other)
        if rule in other.known:
            continue
        deal_first = (_registered(deal), deal.id) < (other.registered, other.id)
        first_id, second_id = (deal.id, other.id) if deal_first else (other.id, deal.id)
        conflict = RegistrationConflictRow(deal_id=second_id, other_deal_id=first_id, rule=rule, evidence=why)
        session.add(conflict)
        created.append(conflict)
        if rules.policy == "first_to_register" and rule != "direct_opportunity":
            decide(conflict, first_id, _load(session, other.id, touched) if deal_first else deal,
                   "first_to_register", "policy", now)
            continue
        # manual (or a direct opportunity): flag the later partner deal, else the partner deal
        second_is_partner = other.is_partner_deal if deal_first else deal.is_partner_deal
        flag_deal = not deal_first if second_is_partner else deal_first
        flagged = deal if flag_deal else _load(session, other.id, touched)
        flagged.conflict_flag, flagged.conflict_reason = True, _reason(rule, other.id if flag_deal else deal.id)
    return created


def _state(deal: DealRow) -> dict[str, Any]:
    return {
        "registration_status": deal.registration_status, "conflict_flag": deal.conflict_flag,
        "conflict_reason": deal.conflict_reason, "sla_breached": deal.sla_breached,
        "expires_at": deal.expires_at.isoformat() if deal.expires_at else None,
    }


def write_back(session: Session, touched: Iterable[tuple[DealRow, dict[str, Any]]], run_id: str | None = None) -> None:
    """Queue the registration fields of each deal whose fields changed to every system holding it (the
    links of all of them in one query)."""
    changed = [(deal, after) for deal, before in touched if (after := _state(deal)) != before]
    systems = live_links(session, "deal", [deal.id for deal, _ in changed])
    for deal, after in changed:
        enqueue(session, entity="deal", hub_id=deal.id, systems=systems.get(deal.id, []), payload=after, run_id=run_id)


def on_deals_changed(ctx: RuleContext, hub_ids: Sequence[str]) -> None:
    """Rule hook for the engine: check the deals of one applied page and write back what changed."""
    rules = ctx.settings.program.registration
    touched: dict[str, tuple[DealRow, dict[str, Any]]] = {}
    for hub_id in hub_ids:
        deal = ctx.session.get(DealRow, hub_id)
        if deal is not None:
            check(ctx.session, rules, deal, ctx.now, touched)
    write_back(ctx.session, touched.values(), ctx.run_id)


def open_conflicts(session: Session, limit: int = 100) -> list[RegistrationConflictRow]:
    return list(session.scalars(select(RegistrationConflictRow).where(RegistrationConflictRow.status == "open")
                                .order_by(RegistrationConflictRow.created_at).limit(limit)))


def resolve(session: Session, conflict_id: int, winner_id: str, by: str, note: str, now: datetime) -> None:
    """A person decides an open conflict; both deals' fields are written back."""
    conflict = session.get(RegistrationConflictRow, conflict_id)
    if conflict is None:
        raise ConflictError(f"conflict {conflict_id}: no such conflict")
    if conflict.status != "open":
        raise ConflictError(f"conflict {conflict_id}: already {conflict.status}")
    if winner_id not in (conflict.deal_id, conflict.other_deal_id):
        raise ConflictError(f"conflict {conflict_id}: winner {winner_id!r} is neither "
                            f"{conflict.deal_id} nor {conflict.other_deal_id}")
    loser_id = conflict.other_deal_id if winner_id == conflict.deal_id else conflict.deal_id
    winner, loser = session.get(DealRow, winner_id), session.get(DealRow, loser_id)
    assert winner is not None and loser is not None  # foreign keys guarantee both
    before = {winner.id: _state(winner), loser.id: _state(loser)}
    decide(conflict, winner.id, loser, note or "manual", by, now)
    winner.conflict_flag, winner.conflict_reason = False, None
    session.flush()
    write_back(session, [(row, before[row.id]) for row in (winner, loser)])
