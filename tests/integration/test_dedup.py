"""Partner dedup on the hub (SQLite and PostgreSQL): the rule, the review queue, merge and exact unmerge."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from config import Settings
from config.program import Dedup, ProgramRules
from sync import dedup
from sync.context import RuleContext
from sync.merge import MergeError, merge, unmerge
from sync.store import Store
from sync.store.tables import (
    AccrualRow,
    DealRow,
    DuplicateCandidateRow,
    ExternalLinkRow,
    OutboxRow,
    PartnerMergeRow,
    PartnerRow,
)

RULES = Dedup(survivorship={"name": "most_complete", "phone": "most_recent", "tax_id": "prefer:hubspot"})
T0, T1 = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)


def _settings() -> Settings:
    return Settings(program=ProgramRules(dedup=RULES))


def _state(store: Store) -> dict[str, Any]:
    """Everything a merge may touch, as plain values."""
    with store.session() as s:
        partners = {p.id: {c.name: getattr(p, c.name) for c in PartnerRow.__table__.columns
                           if c.name not in ("updated_at",)} for p in s.scalars(select(PartnerRow))}
        links = sorted((k.id, k.hub_id, k.system, k.archived) for k in s.scalars(select(ExternalLinkRow)))
        deals = sorted((d.id, d.partner_id) for d in s.scalars(select(DealRow)))
        accruals = sorted((a.id, a.partner_id) for a in s.scalars(select(AccrualRow)))
        candidates = sorted((c.id, c.status) for c in s.scalars(select(DuplicateCandidateRow)))
    return {"partners": partners, "links": links, "deals": deals, "accruals": accruals, "candidates": candidates}


def _seed(store: Store) -> None:
    with store.session() as s:
        s.add_all([
            PartnerRow(id="p1", name="Acme Inc", website="acme.com", phone="+14155550100", country="US",
                       modified_at=T0, tax_id="US111"),
            PartnerRow(id="p2", name="ACME Incorporated Systems", website="acme.com", phone="+14155550199",
                       country="US", city="San Francisco", modified_at=T1, tax_id="US222"),
        ])
        s.flush()
        s.add_all([
            ExternalLinkRow(entity="partner", hub_id="p1", system="salesforce", external_id="001A"),
            ExternalLinkRow(entity="partner", hub_id="p1", system="hubspot", external_id="h-1"),
            ExternalLinkRow(entity="partner", hub_id="p2", system="hubspot", external_id="h-2"),
            ExternalLinkRow(entity="partner", hub_id="p2", system="netsuite", external_id="v-2"),
            DealRow(id="d2", partner_id="p2", name="Big deal"),
        ])
        s.flush()
        s.add_all([
            AccrualRow(id="a2", key="d2:commission:1", partner_id="p2", deal_id="d2", rule="commission",
                       kind="commission", period="2026-03", amount=Decimal("12.50"), currency="USD"),
        ])


def test_merge_then_unmerge_restores_exactly(store: Store) -> None:
    _seed(store)
    before = _state(store)
    with store.session() as s:
        p1, p2 = s.get(PartnerRow, "p1"), s.get(PartnerRow, "p2")
        assert p1 is not None and p2 is not None
        record = merge(s, RULES, p1, p2, score=0.95)
        merge_id = record.id
    with store.session() as s:
        p1, p2 = s.get(PartnerRow, "p1"), s.get(PartnerRow, "p2")
        assert p1 is not None and p2 is not None
        assert (p2.status, p2.merged_into) == ("merged", "p1")
        assert p1.name == "ACME Incorporated Systems"  # most complete
        assert p1.phone == "+14155550199"  # most recent (p2 modified later)
        assert p1.tax_id == "US111"  # prefer:hubspot, but both are linked to hubspot: survivor keeps its own
        assert p1.city == "San Francisco"  # blank on the survivor: filled
        links = {(link.system, link.external_id): (link.hub_id, link.archived)
                 for link in s.scalars(select(ExternalLinkRow))}
        assert links[("netsuite", "v-2")] == ("p1", False)  # moved: the survivor had no NetSuite record
        assert links[("hubspot", "h-2")] == ("p2", True)  # the survivor has one: the loser's is archived
        assert s.get(DealRow, "d2").partner_id == "p1"  # type: ignore[union-attr]
        assert s.get(AccrualRow, "a2").partner_id == "p1"  # type: ignore[union-attr]
        queued = {(o.system, o.hub_id, o.operation): o.payload for o in s.scalars(select(OutboxRow))}
        assert queued[("hubspot", "p2", "archive")] == {"external_id": "h-2", "merged_into": "p1"}
        assert queued[("salesforce", "p1", "upsert")]["name"] == "ACME Incorporated Systems"
    with store.session() as s:
        unmerge(s, merge_id)
    after = _state(store)
    assert after == before
    with store.session() as s:
        restored = [o for o in s.scalars(select(OutboxRow)) if o.hub_id == "p2" and o.operation == "upsert"]
        assert {o.system for o in restored} == {"hubspot", "netsuite"}
        with pytest.raises(MergeError, match="already undone"):
            unmerge(s, merge_id)


def test_rule_auto_merges_queues_and_leaves_alone(store: Store) -> None:
    with store.session() as s:
        s.add_all([
            PartnerRow(id="a1", name="Globex Corporation", website="globex.com", phone="+12125550100", country="US"),
            PartnerRow(id="b1", name="Initech LLC", country="US", city="Austin"),
            PartnerRow(id="c1", name="Acme Ltd", country="GB", website="acme.co.uk"),
            PartnerRow(id="x9", name="Unrelated GmbH", country="DE"),
        ])
        s.flush()
        for row in s.scalars(select(PartnerRow)):
            dedup.match_partner(s, RULES, row)
    with store.session() as s:
        s.add_all([
            PartnerRow(id="a2", name="GLOBEX Corp.", website="https://www.globex.com", phone="+1 212 555 0100",
                       country="US"),
            PartnerRow(id="b2", name="Initech Inc", country="US"),
            PartnerRow(id="c2", name="Acme Inc", country="US", website="acme.com"),
        ])
    with store.session() as s:
        dedup.on_partners_changed(RuleContext(session=s, settings=_settings()), ["a2", "b2", "c2", "missing"])
    with store.session() as s:
        a2 = s.get(PartnerRow, "a2")
        assert a2 is not None and a2.status == "merged" and a2.merged_into == "a1"
        assert a2.name_key == "globex" and a2.phonetic_key == "KLBKS"
        queued = list(s.scalars(select(DuplicateCandidateRow)))
        assert [(c.partner_a, c.partner_b) for c in queued] == [("b1", "b2")]
        assert queued[0].reasons["name"] == 1.0 and RULES.review <= queued[0].score < RULES.auto_merge
        assert s.get(PartnerRow, "c2").status == "active"  # type: ignore[union-attr]
        merges = list(s.scalars(select(PartnerMergeRow)))
        assert [(m.survivor_id, m.loser_id) for m in merges] == [("a1", "a2")]
        candidate_id = queued[0].id
    with store.session() as s:
        assert [c.id for c in dedup.open_candidates(s)] == [candidate_id]
        dedup.reject(s, candidate_id, "ops@example.com")
    with store.session() as s:
        assert dedup.match_partner(s, RULES, s.get(PartnerRow, "b2")) == []  # type: ignore[arg-type]
        assert dedup.open_candidates(s) == []


def test_accept_a_queued_pair(store: Store) -> None:
    with store.session() as s:
        s.add_all([PartnerRow(id="b1", name="Initech LLC", country="US", city="Austin"),
                   PartnerRow(id="b2", name="Initech Inc", country="US")])
        s.flush()
        s.add(ExternalLinkRow(entity="partner", hub_id="b2", system="salesforce", external_id="001B"))
        dedup.on_partners_changed(RuleContext(session=s, settings=_settings()), ["b1", "b2"])
        candidate = s.scalars(select(DuplicateCandidateRow)).one()
    with store.session() as s:
        record = dedup.accept(s, RULES, candidate.id, "ops@example.com")
        # b2 is newer but lives in the preferred system (salesforce), so it survives
        assert (record.survivor_id, record.loser_id, record.merged_by) == ("b2", "b1", "ops@example.com")
    with store.session() as s:
        with pytest.raises(MergeError, match="already merged"):
            dedup.accept(s, RULES, candidate.id, "ops@example.com")
        with pytest.raises(MergeError, match="no such"):
            dedup.reject(s, 999999, "ops@example.com")
        b2 = s.get(PartnerRow, "b2")
        assert b2 is not None and b2.city == "Austin"  # blank on the survivor: filled from the loser
        dedup.undo(s, record.id)
    with store.session() as s:
        b1, b2 = s.get(PartnerRow, "b1"), s.get(PartnerRow, "b2")
        assert b1 is not None and b2 is not None
        assert (b1.status, b2.status, b2.name, b2.city, b2.name_key) == ("active", "active", "Initech Inc", None,
                                                                        "initech")
