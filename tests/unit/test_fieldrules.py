"""The 3-way merge and every rule kind, on plain values."""

from collections.abc import Mapping
from datetime import UTC, datetime

from sync.fieldrules import accepts, merge, sends

OLD, NEW = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)


def taken(system: str, incoming: Mapping[str, object], hub: Mapping[str, object] | None,
          base: Mapping[str, object] | None, rules: dict[str, str], incoming_at: datetime = NEW,
          hub_at: datetime = OLD) -> dict[str, object]:
    return {d.field: d.value for d in merge(system, incoming, hub, base, rules, incoming_at=incoming_at,
                                            hub_at=hub_at)}


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
    assert taken("salesforce", {"name": "S"}, {"name": "H"}, base, rules, OLD, NEW) == {"name": "S"}
    assert taken("hubspot", {"name": "S"}, {"name": "H"}, base, rules, NEW, OLD) == {}
    assert taken("salesforce", {"name": None}, {"name": "H"}, base, rules, NEW, OLD) == {}


def test_from_is_one_way_and_none_never_syncs() -> None:
    rules = {"tier": "from:hubspot", "phone": "none"}
    assert taken("salesforce", {"tier": "gold", "phone": "1"}, {"tier": "silver"}, {"tier": "x"}, rules) == {}
    assert taken("hubspot", {"tier": "gold"}, {"tier": "silver"}, {"tier": "silver"}, rules, OLD, NEW) == {
        "tier": "gold"}
    assert not accepts("none", "hubspot") and not sends("none", "hubspot")
    assert sends("from:hubspot", "salesforce") and not sends("from:hubspot", "hubspot")


def test_unchanged_system_value_keeps_the_hub_value() -> None:
    assert taken("hubspot", {"name": "A"}, {"name": "H"}, {"name": "A"}, {}) == {}
    assert taken("hubspot", {"name": "N"}, None, None, {}) == {"name": "N"}
