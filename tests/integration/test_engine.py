"""The sync cycle end to end over two systems on a real database (SQLite and PostgreSQL)."""

import pytest
from sqlalchemy import func, select

from sync.store import Store
from sync.store.tables import ChangeLogRow, ExternalLinkRow, PartnerRow, SyncErrorRow, SyncRunRow
from tests.engine_helpers import engine_for, rules
from tests.memsystem import MemorySystem


def systems() -> tuple[MemorySystem, MemorySystem]:
    return MemorySystem("salesforce"), MemorySystem("hubspot")


def test_new_records_reach_every_system_with_one_stable_id_and_a_fixed_point(store: Store) -> None:
    sf, hs = systems()
    acme = sf.add("partner", Name="Acme GmbH", Web="https://www.acme.de", Country="DE")
    for i in range(5):
        sf.add("partner", Name=f"Partner {i}", Web=f"p{i}.example")
    hs.add("partner", Name="Beta Ltd", Web="beta.co.uk")
    sf.add("deal", Name="Big deal", Partner=acme, Stage="open", Amount="1200.50 EUR")
    engine = engine_for(store, sf, hs)

    first = engine.cycle()

    assert {(r.system, r.entity, r.status) for r in first} == {
        ("salesforce", "partner", "success"), ("hubspot", "partner", "success"),
        ("salesforce", "deal", "success"), ("hubspot", "deal", "success")}
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(PartnerRow)) == 7
    assert set(sf.by_hub_id("partner")) == set(hs.by_hub_id("partner"))
    assert len(sf.by_hub_id("partner")) == 7
    [deal] = hs.data["deal"].values()
    assert deal["Partner"] == hs.by_hub_id("partner")[sf.data["partner"][acme]["HubId"]]["Id"]
    assert deal["Amount"] == "1200.5000 EUR" or deal["Amount"].startswith("1200.5")

    writes = (sf.writes, hs.writes)
    second = engine.cycle()
    assert (sf.writes, hs.writes) == writes
    assert all(r.records_out == 0 for r in second)
    third = engine.cycle()
    assert all(r.records_out == 0 and r.records_in == r.echoes for r in third)  # the lookback re-reads echoes
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(SyncRunRow)) == 12


def test_exact_key_links_instead_of_a_blind_duplicate(store: Store) -> None:
    sf, hs = systems()
    sf.add("partner", Name="Acme GmbH", Web="acme.de")
    hs.add("partner", Name="ACME", Web="http://shop.acme.de/x")
    engine_for(store, sf, hs).cycle()
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(PartnerRow)) == 1
        assert s.scalar(select(func.count()).select_from(ExternalLinkRow)) == 2
    assert len(sf.data["partner"]) == len(hs.data["partner"]) == 1


def _synced_pair(store: Store, settings_rules: dict[str, str]) -> tuple[MemorySystem, MemorySystem, str, str]:
    sf, hs = systems()
    sf_id = sf.add("partner", Name="Acme", Web="acme.de", Country="DE", Tier="gold", Phone="+49 30 123456")
    engine = engine_for(store, sf, hs, settings=rules(partner=settings_rules))
    engine.cycle()
    hub_id = sf.data["partner"][sf_id]["HubId"]
    return sf, hs, sf_id, hs.by_hub_id("partner")[hub_id]["Id"]


def test_field_rules_decide_conflicting_edits_and_one_sided_changes_survive(store: Store) -> None:
    field_rules = {"country": "prefer:salesforce", "tier": "from:hubspot", "phone": "none"}
    sf, hs, sf_id, hs_id = _synced_pair(store, field_rules)
    engine = engine_for(store, sf, hs, settings=rules(partner=field_rules))

    sf.edit("partner", sf_id, Name="Acme (sf)", Country="AT", Tier="silver", Web="acme.at", Phone="+49 30 999999")
    hs.edit("partner", hs_id, Name="Acme (hs)", Country="CH", Tier="platinum")  # newer than the sf edit
    engine.cycle()
    engine.cycle()

    for record in (sf.data["partner"][sf_id], hs.data["partner"][hs_id]):
        assert record["Name"] == "Acme (hs)"  # two_way: the newest edit wins
        assert record["Country"] == "AT"  # prefer:salesforce
        assert record["Tier"] == "platinum"  # from:hubspot: salesforce's edit never reaches the hub
        assert record["Web"] == "acme.at"  # changed on one side only: survives
    assert "Phone" not in hs.data["partner"][hs_id]  # none: never synced
    assert sf.data["partner"][sf_id]["Phone"] == "+49 30 999999"
    with store.session() as s:
        changes = {(c.field, c.new_value, c.source_system) for c in s.scalars(select(ChangeLogRow))}
    assert ("name", "Acme (hs)", "hubspot") in changes
    assert ("country", "AT", "salesforce") in changes
    assert not any(f == "tier" and src == "salesforce" for f, _, src in changes)


def test_bad_records_are_quarantined_and_the_rest_lands(store: Store) -> None:
    sf, hs = systems()
    sf.add("partner", Name="Good one")
    bad = sf.add("partner", Name="Bad phone", Phone="not a phone")
    sf.add("partner", Name="")
    sf.add("deal", Name="Orphan", Partner="sa-p404")
    sf.add("partner", Name="Good two")
    reports = engine_for(store, sf, hs).cycle()
    [partner] = [r for r in reports if (r.system, r.entity) == ("salesforce", "partner")]
    assert partner.records_in == 4 and sum(partner.errors.values()) == 2
    assert len(hs.data["partner"]) == 2
    with store.session() as s:
        errors = {(e.external_id, e.category, e.field) for e in s.scalars(select(SyncErrorRow))}
    assert (bad, "validation", "Phone") in errors
    assert any(c == "reference" and f == "Partner" for _, c, f in errors)


def test_remote_rejection_is_quarantined_on_push(store: Store) -> None:
    sf, hs = systems()
    sf.add("partner", Name="REJECT")
    sf.add("partner", Name="Fine")
    engine_for(store, sf, hs).cycle()
    with store.session() as s:
        [error] = s.scalars(select(SyncErrorRow).where(SyncErrorRow.system == "hubspot"))
    assert (error.direction, error.category, error.field, error.system) == ("out", "remote", "Name", "hubspot")
    assert len(hs.data["partner"]) == 1


def test_deletes_propagate_by_policy_and_leave_no_orphan_links(store: Store) -> None:
    sf, hs = systems()
    keep = sf.add("partner", Name="Keep")
    gone = sf.add("partner", Name="Gone")
    engine = engine_for(store, sf, hs, settings=rules())
    engine.cycle()
    hub_gone = sf.data["partner"][gone]["HubId"]
    sf.remove("partner", gone)
    engine.cycle()
    assert list(hs.by_hub_id("partner")) == [sf.data["partner"][keep]["HubId"]]
    with store.session() as s:
        row = s.get(PartnerRow, hub_gone)
        assert row is not None and row.deleted_at is not None and row.status == "archived"
        live = s.scalars(select(ExternalLinkRow).where(ExternalLinkRow.hub_id == hub_gone,
                                                       ExternalLinkRow.archived.is_(False))).all()
    assert live == []


def test_dry_run_lists_changes_field_by_field_and_writes_nothing(store: Store) -> None:
    sf, hs = systems()
    sf.add("partner", Name="Acme", Web="acme.de")
    reports = engine_for(store, sf, hs).cycle(dry_run=True)
    changes = [c for r in reports for c in r.planned]
    assert ("hubspot", "create") in {(c.system, c.action) for c in changes}
    [create] = [c for c in changes if c.system == "hubspot"]
    assert create.changes["name"] == (None, "Acme")
    assert hs.writes == sf.writes == 0
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(PartnerRow)) == 0
        assert s.scalar(select(func.count()).select_from(SyncRunRow)) == 0


def test_retry_replays_an_edited_payload_and_a_fixed_mapping(store: Store) -> None:
    from sync import replay
    from sync.lineage import history

    sf, hs = systems()
    bad = sf.add("partner", Name="Bad phone", Phone="not a phone")
    engine = engine_for(store, sf, hs)
    engine.cycle()
    with store.session() as s:
        [error] = s.scalars(select(SyncErrorRow))
    assert error.raw_payload["Phone"] == "not a phone"

    with pytest.raises(LookupError):
        replay.edit(store, error.id + 100, {})
    assert replay.retry(store, engine.settings, engine.systems, None).failing == [error.id]
    replay.edit(store, error.id, {**error.raw_payload, "Phone": "+1 415 555 0100"})
    assert replay.retry(store, engine.settings, engine.systems, [error.id]).fixed == [error.id]
    engine.push_all()

    [record] = hs.data["partner"].values()
    assert record["Phone"] == "+14155550100"
    with store.session() as s:
        assert s.scalars(select(SyncErrorRow.status)).all() == ["resolved"]
    lineage = history(store, "partner", bad, "phone")
    assert [(c.new_value, c.source_system) for c in lineage] == [("+14155550100", "salesforce")]
