"""Field rules and the 3-way merge of one incoming record against the hub and the last synced snapshot.

Pure: the engine passes values in and applies the decisions. A field changed on one side only always
survives; a field changed on both sides is decided by its rule (`two_way`, `prefer:<s>`, `from:<s>`,
`none`).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Decision:
    """The hub takes `value` for `field` from the incoming system, because of `rule`."""

    field: str
    old: Any
    value: Any
    rule: str


def accepts(rule: str, system: str) -> bool:
    """Whether changes from `system` may reach the hub at all under `rule`."""
    if rule == "none":
        return False
    return not rule.startswith("from:") or rule == f"from:{system}"


def sends(rule: str, system: str) -> bool:
    """Whether the hub writes this field to `system` under `rule`."""
    if rule == "none":
        return False
    return not rule.startswith("from:") or rule != f"from:{system}"


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == []


def merge(
    system: str,
    incoming: Mapping[str, Any],
    hub: Mapping[str, Any] | None,
    base: Mapping[str, Any] | None,
    rules: Mapping[str, str],
    *,
    incoming_at: datetime | None,
    hub_at: datetime | None,
) -> list[Decision]:
    """The fields the hub should take from `incoming`.

    `base` is what hub and system last agreed on (None: never synced); `rules` maps a field to its
    rule (missing: two_way). Changed on the system side only -> taken; changed on both -> the rule.
    """
    decisions = []
    hub = hub or {}
    for field, theirs in incoming.items():
        rule = rules.get(field, "two_way")
        ours = hub.get(field)
        if theirs == ours or not accepts(rule, system):
            continue
        if base is not None and field in base and base[field] == theirs:
            continue  # the system did not change it: the hub's value stands (and is pushed)
        hub_changed = field in hub and not _blank(ours) and (base is None or base.get(field) != ours)
        if not hub_changed or _wins(rule, system, theirs, ours, incoming_at, hub_at):
            decisions.append(Decision(field, ours, theirs, rule))
    return decisions


def _wins(rule: str, system: str, theirs: Any, ours: Any, incoming_at: datetime | None,
          hub_at: datetime | None) -> bool:
    """Both sides changed the field: does the incoming value win?"""
    if rule.startswith("from:"):
        return True  # accepts() already proved the system is the source
    if rule.startswith("prefer:"):
        preferred = rule.removeprefix("prefer:") == system
        return (preferred and not _blank(theirs)) or (not preferred and _blank(ours))
    if incoming_at is None:
        return False
    return hub_at is None or incoming_at > hub_at
