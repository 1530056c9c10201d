"""The 3-way merge and every rule kind, on plain values."""

from collections.abc import Mapping
from datetime import UTC, datetime

from config.program import ProgramRules
from sync.fieldrules import merge, pushable

OLD, NEW = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)


def taken(source: str, incoming: Mapping[str, object], hub: Mapping[str, object] | None,
          base: Mapping[str, object] | None, rules: dict[str, str], incoming_at: datetime = NEW,
          hub_at: datetime = OLD, preferred_linked: frozenset[str] = frozenset()) -> dict[str, object]:
    program = ProgramRules.model_validate({"field_rules": {"partner": rules}})
    return {d.field: d.new for d in merge(program, "partner", source, incoming, hub, base, incoming_at=incoming_at,
                                          hub_at=hub_at, preferred_linked=preferred_linked)}


def test_changed_on_one_side_only_always_survives() -> None:
    base = {"name": "A", "city": "X"}
    assert taken("hubspot", {"name": "A", "city": "Y"}, {"name": "B", "city": "X"}, base, {}, OLD, NEW) == {
        "city": "Y"}  # the system changed city, the hub changed name: both survive


def test_two_way_newest_side_wins_on_conflict() -> None:
    base = {"name": "A"}
    assert taken("hubspot", {"name": "S"}, {"name": "H"}, base, {}, NEW, OLD) == {"name": "S"}
    assert taken("hubspot", {"name": "S"}, {"name": "H"}, base, {}, OLD, NEW) == {}


def test_prefer_wins_unless_blank() -> None:
    base = {"name": "A"}
    rules = {"name": "prefer:salesforce"}
    linked = frozenset({"salesforce"})
    assert taken("salesforce", {"name": "S"}, {"name": "H"}, base, rules, OLD, NEW, linked) == {"name": "S"}
    assert taken("hubspot", {"name": "S"}, {"name": "H"}, base, rules, NEW, OLD, linked) == {}
    assert taken("salesforce", {"name": None}, {"name": "H"}, base, rules, NEW, OLD, linked) == {}
    assert taken("hubspot", {"name": "S"}, {"name": None}, base, rules, NEW, OLD, linked) == {"name": "S"}


def test_from_is_one_way_and_none_never_syncs() -> None:
    rules = {"tier": "from:hubspot", "phone": "none"}
    assert taken("salesforce", {"tier": "gold", "phone": "1"}, {"tier": "silver"}, {"tier": "x"}, rules) == {}
    assert taken("hubspot", {"tier": "gold"}, {"tier": "silver"}, {"tier": "silver"}, rules, OLD, NEW) == {
        "tier": "gold"}
    program = ProgramRules.model_validate({"field_rules": {"partner": rules}})
    hub = {"tier": "gold", "phone": "1", "name": "A"}
    assert pushable(program, "partner", "salesforce", hub) == {"tier": "gold", "name": "A"}
    assert pushable(program, "partner", "hubspot", hub) == {"name": "A"}


def test_unchanged_system_value_keeps_the_hub_value() -> None:
    assert taken("hubspot", {"name": "A"}, {"name": "H"}, {"name": "A"}, {}) == {}
    assert taken("hubspot", {"name": "N"}, None, None, {}) == {"name": "N"}
