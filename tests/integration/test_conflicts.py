"""Deal-registration conflicts on the hub (SQLite and PostgreSQL): every rule, its negatives, write-back."""

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from config import Settings
from config.program import ProgramRules, Registration
from sync import conflicts
from sync.context import RuleContext
from sync.store import Store
from sync.store.tables import DealProductRow, DealRow, ExternalLinkRow, OutboxRow, PartnerRow, RegistrationConflictRow

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def _deal(s: Any, deal_id: str, *, partner: str | None = "pA", families: tuple[str, ...] = ("firewall",),
          registered: datetime = NOW - timedelta(days=10), **fields: Any) -> None:
    values: dict[str, Any] = {"customer_name": "Contoso Ltd", "customer_domain": "contoso.com",
                              "customer_country": "GB", "registration_status": "approved"} | fields
    s.add(DealRow(id=deal_id, partner_id=partner, name=f"deal {deal_id}", registered_at=registered, **values))
    s.flush()
    s.add_all([DealProductRow(deal_id=deal_id, product=f"{f}-1", family=f) for f in families])
    s.add(ExternalLinkRow(entity="deal", hub_id=deal_id, system="salesforce", external_id=f"006{deal_id}"))
    s.flush()


def _run(store: Store, deal_ids: list[str], policy: str = "first_to_register") -> list[RegistrationConflictRow]:
    rules = ProgramRules(registration=Registration(policy=policy))
    with store.session() as s:
        conflicts.on_deals_changed(RuleContext(session=s, settings=Settings(program=rules), now=NOW), deal_ids)
    with store.session() as s:
        return list(s.scalars(select(RegistrationConflictRow).order_by(RegistrationConflictRow.id)))


@pytest.fixture
def hub(store: Store) -> Store:
    return _with_partners(store)


def _with_partners(store: Store) -> Store:
    with store.session() as s:
        s.add_all([PartnerRow(id="pA", name="Alpha Partners"), PartnerRow(id="pB", name="Beta Resellers")])
    return store


def test_customer_overlap_first_to_register_wins_and_is_written_back(hub: Store) -> None:
    with hub.session() as s:
        _deal(s, "d1", registered=NOW - timedelta(days=20))
        _deal(s, "d2", partner="pB", families=("firewall", "vpn"), customer_name="CONTOSO Limited",
              customer_domain=None, registration_status="submitted", registered=NOW - timedelta(hours=1))
    found = _run(hub, ["d1", "d2"])  # the rule keys every deal it sees; d1 is keyed before d2 arrives
    assert [(c.deal_id, c.other_deal_id, c.rule, c.status, c.winner_deal_id) for c in found] == [
        ("d2", "d1", "customer_overlap", "resolved", "d1")]
    assert found[0].evidence == {"families": ["firewall"], "customer_name": 1.0, "country": "GB"}
    assert found[0].resolution == "first_to_register"
    with hub.session() as s:
        d2 = s.get(DealRow, "d2")
        assert d2 is not None and d2.registration_status == "rejected" and d2.conflict_flag
        assert d2.conflict_reason == "customer already registered by another partner (deal d1)"
        assert d2.expires_at == NOW - timedelta(hours=1) + timedelta(days=90)
        pushed = {o.hub_id: o for o in s.scalars(select(OutboxRow))}
        assert set(pushed) == {"d1", "d2"}  # d1: its protection expiry, set on first sight
        assert pushed["d1"].payload["registration_status"] == "approved"
        assert pushed["d1"].payload["conflict_flag"] is False
        assert (pushed["d2"].system, pushed["d2"].entity, pushed["d2"].operation) == ("salesforce", "deal", "upsert")
        assert pushed["d2"].payload == {
            "registration_status": "rejected", "conflict_flag": True, "sla_breached": False,
            "conflict_reason": "customer already registered by another partner (deal d1)",
            "expires_at": (NOW - timedelta(hours=1) + timedelta(days=90)).isoformat(),
        }
    assert [c.id for c in _run(hub, ["d2", "d1"])] == [found[0].id]  # idempotent: nothing new, nothing queued twice
    with hub.session() as s:
        assert len(list(s.scalars(select(OutboxRow)))) == 2


def test_same_domain_matches_across_names(hub: Store) -> None:
    with hub.session() as s:
        _deal(s, "d1", registered=NOW - timedelta(days=20))
        _deal(s, "d2", partner="pB", customer_name="Totally Different Name", customer_country="US")
    assert [(c.rule, c.evidence["domain"]) for c in _run(hub, ["d2"])] == [("customer_overlap", "contoso.com")]


def test_misspelled_customer_in_the_same_country(hub: Store) -> None:
    with hub.session() as s:
        _deal(s, "d1", registered=NOW - timedelta(days=20), customer_domain=None)
        _deal(s, "d2", partner="pB", customer_name="Contosso Limited", customer_domain=None)
    found = _run(hub, ["d1", "d2"])
    assert [(c.rule, c.evidence["country"]) for c in found] == [("customer_overlap", "GB")]
    assert found[0].evidence["customer_name"] >= 0.9


def test_duplicate_registration_by_the_same_partner(hub: Store) -> None:
    with hub.session() as s:
        _deal(s, "d1", registered=NOW - timedelta(days=20))
        _deal(s, "d2")
    assert [(c.deal_id, c.rule, c.winner_deal_id) for c in _run(hub, ["d2"])] == [
        ("d2", "duplicate_registration", "d1")]


def test_open_direct_opportunity_is_flagged_for_a_person(hub: Store) -> None:
    with hub.session() as s:
        _deal(s, "direct", partner=None, is_partner_deal=False, stage="open", registered=NOW - timedelta(days=30))
        _deal(s, "d2", partner="pB")
    found = _run(hub, ["d2"])
    assert [(c.deal_id, c.other_deal_id, c.rule, c.status) for c in found] == [
        ("d2", "direct", "direct_opportunity", "open")]
    with hub.session() as s:
        d2 = s.get(DealRow, "d2")
        assert d2 is not None and d2.conflict_flag and d2.registration_status == "approved"
        assert d2.conflict_reason == "open direct opportunity for this customer (deal direct)"
        conflicts.resolve(s, found[0].id, "d2", "ops", "partner sourced it", NOW)
    with hub.session() as s:
        d2 = s.get(DealRow, "d2")
        assert d2 is not None and not d2.conflict_flag and d2.conflict_reason is None
        conflict = s.get(RegistrationConflictRow, found[0].id)
        assert conflict is not None and (conflict.status, conflict.winner_deal_id) == ("resolved", "d2")
        last = s.scalars(select(OutboxRow).where(OutboxRow.hub_id == "d2").order_by(OutboxRow.id.desc())).first()
        assert last is not None and last.payload["conflict_flag"] is False
        with pytest.raises(conflicts.ConflictError, match="already resolved"):
            conflicts.resolve(s, found[0].id, "d2", "ops", "", NOW)


def test_manual_policy_flags_both_sides_open(hub: Store) -> None:
    with hub.session() as s:
        _deal(s, "d1", registered=NOW - timedelta(days=20))
        _deal(s, "d2", partner="pB")
    found = _run(hub, ["d2"], policy="manual")
    assert [(c.rule, c.status) for c in found] == [("customer_overlap", "open")]
    with hub.session() as s:
        with pytest.raises(conflicts.ConflictError, match="neither"):
            conflicts.resolve(s, found[0].id, "d9", "ops", "", NOW)
        conflicts.resolve(s, found[0].id, "d2", "ops", "d1 went quiet", NOW)
    with hub.session() as s:
        assert s.get(DealRow, "d1").registration_status == "rejected"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("other", "why"),
    [
        ({"families": ("storage",)}, "different product family"),
        ({"registered": NOW - timedelta(days=120)}, "expired"),
        ({"customer_domain": None, "customer_country": "US"}, "same name, other country"),
        ({"customer_domain": "fabrikam.com", "customer_name": "Fabrikam Inc"}, "other customer"),
        ({"registration_status": "rejected"}, "not active"),
        ({"partner": None, "is_partner_deal": False, "stage": "won"}, "direct deal already closed"),
    ],
)
def test_no_conflict(hub: Store, other: dict[str, Any], why: str) -> None:
    with hub.session() as s:
        _deal(s, "d1", **other)
        _deal(s, "d2", partner="pB", registered=NOW - timedelta(days=5))
    assert _run(hub, ["d1", "d2"]) == [], why


def test_expiry_and_approval_sla_are_written_back(hub: Store) -> None:
    with hub.session() as s:
        _deal(s, "old", registered=NOW - timedelta(days=91))
        _deal(s, "slow", registration_status="submitted", registered=NOW - timedelta(hours=49),
              customer_domain="other.com", customer_name="Other")
    _run(hub, ["old", "slow"])
    with hub.session() as s:
        old, slow = s.get(DealRow, "old"), s.get(DealRow, "slow")
        assert old is not None and old.registration_status == "expired"
        assert slow is not None and slow.sla_breached and slow.registration_status == "submitted"
        payloads = {o.hub_id: o.payload for o in s.scalars(select(OutboxRow))}
        assert payloads["old"]["registration_status"] == "expired"
        assert payloads["slow"]["sla_breached"] is True


def test_rival_lookup_function_returns_what_the_query_returns(pg_store: Store) -> None:
    """PostgreSQL runs the lookup as the function of migration conflicts1: it must stay the query's twin."""
    hub = _with_partners(pg_store)
    rng = random.Random(7)
    names = [("Contoso Ltd", "contoso.com"), ("Contosso Limited", None), ("Fabrikam Inc", "fabrikam.com"),
             ("Northwind", ""), ("Route 66 Diner", None), ("Route 9 Diner", None)]
    with hub.session() as s:
        for i in range(60):
            name, domain = rng.choice(names)
            direct = rng.random() < 0.15
            _deal(s, f"d{i:02d}", partner=None if direct else rng.choice(["pA", "pB"]), is_partner_deal=not direct,
                  stage=rng.choice(["open", "open", "won"]), customer_name=name,
                  customer_domain=domain if rng.random() < 0.7 else None,
                  customer_country=rng.choice(["GB", "GB", "US", None]),
                  registration_status=rng.choice(["submitted", "approved", "rejected", "expired"]),
                  registered=NOW - timedelta(days=rng.randint(0, 120)),
                  families=tuple(rng.sample(["firewall", "vpn", "storage"], rng.randint(1, 2))),
                  deleted_at=NOW if rng.random() < 0.05 else None)
        for deal in s.scalars(select(DealRow)):
            conflicts.refresh(deal, Registration(), NOW)
            if rng.random() < 0.3:
                deal.expires_at = None
        s.flush()
        s.add_all([RegistrationConflictRow(deal_id=f"d{i:02d}", other_deal_id=f"d{i + 1:02d}", rule=rule, evidence={})
                   for i, rule in ((0, "customer_overlap"), (3, "direct_opportunity"), (7, "duplicate_registration"))])
    compared = 0
    with hub.session() as s:
        for deal in s.scalars(select(DealRow).order_by(DealRow.id)):
            params = conflicts.rival_params(deal, NOW)
            if params is None:
                continue
            query = sorted(s.connection().execute(conflicts._RIVALS, params).all())
            assert sorted(s.connection().execute(conflicts._RIVALS_FUNCTION, params).all()) == query, deal.id
            compared += len(query)
    assert compared > 50  # the data gives both some rows to agree on


def test_blank_domain_is_no_evidence(hub: Store) -> None:
    with hub.session() as s:
        _deal(s, "d1", customer_domain="", customer_name="Contoso", registered=NOW - timedelta(days=20))
        _deal(s, "d2", partner="pB", customer_domain="", customer_name="Unrelated Name", customer_country="US")
    assert _run(hub, ["d1", "d2"]) == []
