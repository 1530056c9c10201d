"""Field rules and the 3-way merge of one incoming record against the hub and the last synced snapshot.

Per field: `none` never syncs; `from:<system>` takes only that system's value (`from:hub`: only the
hub's); `prefer:<system>` takes that system's value unless it is blank, and another system's change
only while the preferred side has nothing; `two_way` takes a change made on one side only, and when
both sides changed since the snapshot, the newer by each side's own modified time.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from config.program import ProgramRules


@dataclass(frozen=True)
class Decision:
    field: str
    old: Any
    new: Any
    rule: str
    conflict: bool = False


def blank(value: Any) -> bool:
    return value is None or value == "" or value == []


def merge(
    rules: ProgramRules,
    entity: str,
    source: str,
    incoming: Mapping[str, Any],
    hub: Mapping[str, Any] | None,
    snapshot: Mapping[str, Any] | None,
    *,
    incoming_at: datetime | None,
    hub_at: datetime | None,
    preferred_linked: frozenset[str] = frozenset(),
) -> list[Decision]:
    """The changes to apply to the hub record (all of `incoming` when the hub has no record yet)."""
    decisions = []
    for field, new in incoming.items():
        rule = rules.field_rule(entity, field)
        if rule == "none":
            continue
        old = None if hub is None else hub.get(field)
        if new == old:
            continue
        kind, _, owner = rule.partition(":")
        if hub is None:
            if kind != "from" or owner == source:
                decisions.append(Decision(field, old, new, rule))
            continue
        changed_here = snapshot is None or snapshot.get(field) != new
        changed_hub = snapshot is not None and snapshot.get(field) != old
        if kind == "from":
            if owner == source:
                decisions.append(Decision(field, old, new, rule))
        elif kind == "prefer":
            if owner == source and not blank(new):
                decisions.append(Decision(field, old, new, rule, conflict=changed_hub))
            elif owner != source and changed_here and (blank(old) or owner not in preferred_linked):
                decisions.append(Decision(field, old, new, rule))
        elif changed_here and not changed_hub:
            decisions.append(Decision(field, old, new, rule))
        elif changed_here and (hub_at is None or (incoming_at is not None and incoming_at >= hub_at)):
            decisions.append(Decision(field, old, new, rule, conflict=True))
    return decisions


def pushable(rules: ProgramRules, entity: str, target: str, hub: Mapping[str, Any]) -> dict[str, Any]:
    """The hub values a system receives: not `none`, and not a `from:` field back to its only source."""
    out = {}
    for field, value in hub.items():
        kind, _, owner = rules.field_rule(entity, field).partition(":")
        if kind == "none" or (kind == "from" and owner == target):
            continue
        out[field] = value
    return out
