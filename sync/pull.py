"""One pulled page applied to the hub: map, validate, link, merge by field rules, queue write-backs.

Runs inside the page's transaction; the caller commits it with the cursor.
"""

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from config import Settings
from connectors.base import Record
from mapping.base import FieldMap
from sync import fieldrules, links, outbox, quarantine, records
from sync.store.tables import ChangeLogRow, now

HUB_ID_KEY = "partnersync_id"  # in a link's snapshot: the hub id the system's record carries


@dataclass
class Applied:
    """What one page did to the hub."""

    records_in: int = 0
    echoes: int = 0
    changed: list[str] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    resolved: list[str] = field(default_factory=list)
    newest: datetime | None = None


def pushable(fmap: FieldMap[Any]) -> set[str]:
    """Unified fields the hub writes to this system."""
    return {f.unified for f in fmap.fields if not f.read_only}


def echo_hash(fmap: FieldMap[Any], values: Mapping[str, Any]) -> str:
    """Hash of the pushable, non-blank values: equal for our push and the same record read back."""
    keep = pushable(fmap)
    return outbox.payload_hash({k: v for k, v in values.items() if k in keep and v not in (None, "", [])})


class PageApplier:
    """Applies records of one system x entity; `targets` are the other systems holding the entity."""

    def __init__(self, session: Session, settings: Settings, fmap: FieldMap[Any], targets: Sequence[str],
                 run_id: str | None) -> None:
        self.session, self.settings, self.fmap, self.targets, self.run_id = session, settings, fmap, targets, run_id
        self.system, self.entity = fmap.system, fmap.entity
        self.rules = settings.program.field_rules.get(self.entity, {})
        self.result = Applied()

    def apply(self, raw: Record) -> str | None:
        """Apply one record; returns its hub id, or None when quarantined or skipped."""
        self.result.records_in += 1
        try:
            external = self.fmap.external_id(raw)
        except KeyError:
            self._quarantine(raw, "mapping", self.fmap.id_field, "record has no id", None)
            return None
        try:
            unified = self.fmap.to_values(raw)
            model = self.fmap.model.model_validate(unified)
        except ValidationError as exc:
            problems = quarantine.validation_errors(self.fmap, exc)
            self._quarantine(raw, "validation", problems[0][0], "; ".join(p[1] for p in problems), external)
            return None
        except (ValueError, TypeError, KeyError, ArithmeticError) as exc:
            self._quarantine(raw, "mapping", None, f"{type(exc).__name__}: {exc}", external)
            return None
        values = records.values_of(model, set(unified))
        for name, entity in self.fmap.references.items():
            if values.get(name) is None:
                continue
            ref = links.hub_id(self.session, entity, self.system, str(values[name]))
            if ref is None:
                self._quarantine(raw, "reference", self.fmap.system_field(name),
                                 f"{name}: no synced {entity} with {self.system} id {values[name]}", external)
                return None
            values[name] = ref
        at = self.fmap.modified_at(raw)
        if at is not None and (self.result.newest is None or at > self.result.newest):
            self.result.newest = at
        self.result.resolved.append(external)
        return self._merge(raw, external, values, at)

    def _quarantine(self, raw: Record, category: str, fld: str | None, message: str, external: str | None) -> None:
        quarantine.add(self.session, system=self.system, entity=self.entity, raw=raw, category=category,
                       field=fld, message=f"{self.system} {self.entity} {external or '?'}: {message}",
                       external_id=external, run_id=self.run_id)
        self.result.errors[category] += 1

    def _merge(self, raw: Record, external: str, values: dict[str, Any], at: datetime | None) -> str | None:
        link = links.by_external(self.session, self.entity, self.system, external)
        if link is not None and link.last_pushed_hash == echo_hash(self.fmap, values):
            link.remote_modified_at = at
            self.result.echoes += 1
            return None
        hub_id = link.hub_id if link is not None else self._find(raw, values)
        hub = records.load(self.session, self.entity, hub_id) if hub_id else None
        base = link.last_synced_snapshot if link is not None else None
        decisions = fieldrules.merge(self.system, values, hub, base, self.rules, incoming_at=at,
                                     hub_at=records.modified_at(self.session, self.entity, hub_id) if hub_id else None)
        created = hub is None
        if created:
            hub_id = records.create(self.session, self.entity, {d.field: d.value for d in decisions}, at)
        elif decisions:
            assert hub_id is not None
            records.write(self.session, self.entity, hub_id, {d.field: d.value for d in decisions}, at)
        assert hub_id is not None
        stamp = now()
        self.session.add_all(ChangeLogRow(entity=self.entity, hub_id=hub_id, field=d.field,
                                          old_value=_text(d.old), new_value=_text(d.value),
                                          source_system=self.system, source_modified_at=at, rule=d.rule,
                                          run_id=self.run_id, changed_at=stamp) for d in decisions)
        link = links.link(self.session, self.entity, self.system, hub_id, external)
        link.last_synced_snapshot = {**values, HUB_ID_KEY: self.fmap.hub_id(raw)}
        link.remote_modified_at = at
        current = records.load(self.session, self.entity, hub_id) or {}
        self._queue(hub_id, raw, values, current, bool(decisions) or created)
        if decisions or created:
            self.result.changed.append(hub_id)
        return hub_id

    def _find(self, raw: Record, values: Mapping[str, Any]) -> str | None:
        """An unlinked record: its partnersync id, else one exact-key match not yet linked here."""
        claimed = self.fmap.hub_id(raw)
        if claimed and records.load(self.session, self.entity, claimed) is not None:
            return claimed
        for candidate in records.match_keys(self.session, self.entity, values):
            if links.by_hub(self.session, self.entity, self.system, candidate) is None:
                return candidate
        return None

    def _queue(self, hub_id: str, raw: Record, values: Mapping[str, Any], current: Mapping[str, Any],
               changed: bool) -> None:
        """Write-backs: to the others when the hub changed, to the source when it differs from the hub."""
        systems = list(self.targets) if changed else [
            s for s in self.targets if links.by_hub(self.session, self.entity, s, hub_id) is None]
        back = {k: v for k, v in current.items() if k in pushable(self.fmap)
                and fieldrules.sends(self.rules.get(k, "two_way"), self.system)}
        if self.fmap.hub_id(raw) != hub_id or any(values.get(k) != v for k, v in back.items()
                                                   if v not in (None, "", [])):
            systems.append(self.system)
        if systems:
            outbox.enqueue(self.session, entity=self.entity, hub_id=hub_id, systems=systems, payload=dict(current),
                           run_id=self.run_id)

    def delete(self, external_ids: Sequence[str], policy: str) -> list[str]:
        """Deleted in the system: tombstone by policy, propagate, and never leave an orphan link."""
        touched = []
        for external in external_ids:
            link = links.by_external(self.session, self.entity, self.system, external)
            if link is None or link.archived:
                continue
            link.archived = True
            if policy == "ignore":
                continue
            if records.tombstone(self.session, self.entity, link.hub_id, now()):
                self.session.add(ChangeLogRow(entity=self.entity, hub_id=link.hub_id, field="deleted_at",
                                              old_value=None, new_value=policy, source_system=self.system,
                                              rule=f"delete:{policy}", run_id=self.run_id))
                others = [row.system for row in links.for_hub(self.session, self.entity, link.hub_id)
                          if not row.archived]
                outbox.enqueue(self.session, entity=self.entity, hub_id=link.hub_id, systems=others, payload={},
                               operation=policy, run_id=self.run_id)
                touched.append(link.hub_id)
        return touched


def _text(value: Any) -> str | None:
    return None if value is None else value if isinstance(value, str) else json.dumps(value, sort_keys=True)
