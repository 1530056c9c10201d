"""Apply one pulled page to the hub: map, validate, link, merge by field rules, log, queue pushes.

Everything here runs inside the page's transaction; the caller commits it with the new cursor.
"""

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert
from sqlalchemy.orm import Session

from config import Settings
from connectors.base import Page, Record
from mapping.base import FieldMap
from sync import links, quarantine, records
from sync.fieldrules import Decision, blank, merge, pushable
from sync.outbox import enqueue, enqueue_many
from sync.store.tables import Base, ChangeLogRow, now
from sync.systems import System

CHANGE_LOG = Base.metadata.tables[ChangeLogRow.__tablename__]
CHANGED = {"reason": "changed"}


@dataclass
class PageResult:
    changed: list[str] = field(default_factory=list)
    created: int = 0
    echoes: int = 0
    deleted: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    decisions: list[tuple[str, Decision]] = field(default_factory=list)
    newest: datetime | None = None
    rows: list[Any] = field(default_factory=list)  # the changed hub rows, held in the session for the rules


@dataclass
class Incoming:
    record: Record
    external_id: str
    values: dict[str, Any]
    modified_at: datetime | None


def validate(session: Session, fmap: FieldMap[Any], system: str, record: Record, run_id: str | None,
             result: PageResult) -> Incoming | None:
    """The record's canonical unified values, or None after quarantining it with field and reason."""
    external_id = str(record.get(fmap.id_field) or "")
    try:
        values = fmap.to_values(record)
        present = [k for k in values if k != "modified_at"]
        model = fmap.model.model_validate(values)  # `fmap.to_model`, without converting the record twice
    except (ValueError, TypeError, KeyError, ArithmeticError) as exc:
        if not isinstance(exc, ValidationError):  # a converter choked on the value: a mapping error
            message = f"{system} {fmap.entity} {external_id}: {type(exc).__name__}: {exc}"
            quarantine.put(session, system=system, entity=fmap.entity, category="mapping", message=message,
                           raw=dict(record), external_id=external_id, run_id=run_id)
            result.errors["mapping"] += 1
            return None
        first = exc.errors()[0]
        unified = str(first["loc"][0]) if first["loc"] else None
        where = fmap.system_field(unified) if unified else None
        message = f"{system} {fmap.entity} {external_id}: {where or 'record'}: {first['msg']}"
        quarantine.put(session, system=system, entity=fmap.entity, category="validation", message=message,
                       raw=dict(record), external_id=external_id, field=where, run_id=run_id)
        result.errors["validation"] += 1
        return None
    return Incoming(record, external_id, records.model_values(model, present), fmap.modified_at(record))


def resolve_references(session: Session, fmap: FieldMap[Any], system: str, items: list[Incoming],
                       run_id: str | None, result: PageResult) -> list[Incoming]:
    """Turn the system's ids in reference fields into hub ids; a record pointing at an unsynced record waits."""
    ready = items
    for unified, entity in fmap.references.items():
        wanted = [str(i.values[unified]) for i in ready if i.values.get(unified)]
        found = links.by_external(session, entity, system, wanted)
        kept = []
        for item in ready:
            ref = item.values.get(unified)
            if ref and str(ref) not in found:
                message = (f"{system} {fmap.entity} {item.external_id}: {fmap.system_field(unified)}: "
                           f"{entity} {ref} is not synced yet")
                quarantine.put(session, system=system, entity=fmap.entity, category="reference", message=message,
                               raw=dict(item.record), external_id=item.external_id,
                               field=fmap.system_field(unified), run_id=run_id)
                result.errors["reference"] += 1
                continue
            if ref:
                item.values[unified] = found[str(ref)].hub_id
            kept.append(item)
        ready = kept
    return ready


@dataclass
class PageWrites:
    """What applying a page writes besides hub records: links, change_log and outbox rows, each written
    as one executemany when the page is done."""

    linked: list[links.Link] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[tuple[str, str, list[str]]] = field(default_factory=list)  # entity, hub id, systems

    def flush(self, session: Session, run_id: str | None) -> None:
        links.save(session, self.linked)
        if self.changes:
            session.execute(insert(CHANGE_LOG), self.changes)
        enqueue_many(session, [(entity, hub_id, system) for entity, hub_id, systems in self.outbox
                               for system in systems], payload=CHANGED, run_id=run_id)


def apply_page(session: Session, settings: Settings, source: System, entity: str, page: Page,
               targets: Mapping[str, System], run_id: str | None) -> PageResult:
    fmap = source.maps[entity]
    system_set = {f.unified for f in fmap.fields if f.read_only}
    result = PageResult()
    items = [i for r in page.records if (i := validate(session, fmap, source.name, r, run_id, result))]
    items = resolve_references(session, fmap, source.name, items, run_id, result)
    linked = links.by_external(session, entity, source.name, [i.external_id for i in items])
    claimed = [c for i in items if i.external_id not in linked and (c := fmap.hub_id(i.record))]
    unlinked = [i for i in items if i.external_id not in linked] if entity == "partner" else []
    matches = dict(zip((i.external_id for i in unlinked), records.match_partners(session, [i.values for i in unlinked]),
                       strict=True))
    hub_ids = [link.hub_id for link in linked.values()] + claimed + [m for m in matches.values() if m]
    hub = records.values(session, entity, hub_ids, settings.program.currency)
    all_links = links.all_of(session, entity, hub)
    writer = records.Writer(entity, records.modified(session, entity, hub))
    writes = PageWrites()
    queue = Queue(settings, entity, targets)
    for item in items:
        result.newest = max(filter(None, (result.newest, item.modified_at)), default=None)
        link = linked.get(item.external_id)
        if link is not None and all(link.last_synced_snapshot and link.last_synced_snapshot.get(k) == v
                                    for k, v in item.values.items()):
            result.echoes += 1
            continue
        hub_id: str | None = (link.hub_id if link is not None
                              else _find(source.name, fmap, item, hub, all_links, matches.get(item.external_id)))
        current = hub.get(hub_id) if hub_id else None
        snapshot = link.last_synced_snapshot if link is not None else None
        preferred = frozenset(all_links.get(hub_id, {})) if hub_id else frozenset()
        decisions = merge(settings.program, entity, source.name, item.values, current, snapshot,
                          incoming_at=item.modified_at, hub_at=writer.modified.get(hub_id) if hub_id else None,
                          preferred_linked=preferred)
        # a field the system sets itself (created date, owner id) only fills a blank: it is that system's fact
        decisions = [d for d in decisions if d.field not in system_set or blank(d.old)]
        changes = {d.field: d.new for d in decisions}
        if current is None:
            changes.setdefault("name", item.values.get("name") or "")
        if current is None or decisions:
            hub_id = writer.write(hub_id, changes, item.modified_at, exists=current is not None)
            hub[hub_id] = {**(current or {}), **changes}
            result.created += current is None
        assert hub_id is not None
        writes.changes += [{"entity": entity, "hub_id": hub_id, "field": d.field, "old_value": _text(d.old),
                            "new_value": _text(d.new), "source_system": source.name,
                            "rule": d.rule + (" (conflict)" if d.conflict else ""), "run_id": run_id,
                            "source_modified_at": item.modified_at} for d in decisions]
        result.decisions += [(hub_id, d) for d in decisions]
        link = linked[item.external_id] = _link(entity, source.name, hub_id, item, link)
        writes.linked.append(link)
        all_links.setdefault(hub_id, {})[source.name] = link
        systems = queue.systems(hub[hub_id], all_links[hub_id], stamp=source.name if not fmap.hub_id(item.record)
                                else None)
        if systems:
            writes.outbox.append((entity, hub_id, systems))
        if decisions or current is None:
            result.changed.append(hub_id)
    writer.flush(session)
    writes.flush(session, run_id)
    quarantine.resolve(session, source.name, entity, [i.external_id for i in items])
    _deletes(session, settings, entity, source.name, page.deleted, run_id, result)
    result.rows = records.rows(session, entity, result.changed)
    return result


def _find(system: str, fmap: FieldMap[Any], item: Incoming, hub: dict[str, Any],
          all_links: dict[str, dict[str, links.Link]], match: str | None) -> str | None:
    """An unlinked record's hub record: by our id written in it, then by exact keys (`match`, looked up for
    the whole page) unless that record is linked in this system already; None means new."""
    claimed = fmap.hub_id(item.record)
    if claimed and claimed in hub and system not in all_links.get(claimed, {}):
        return claimed
    if match and system not in all_links.get(match, {}):
        return match
    return None


def _link(entity: str, system: str, hub_id: str, item: Incoming, link: links.Link | None) -> links.Link:
    if link is None:
        link = links.Link(entity=entity, hub_id=hub_id, system=system, external_id=item.external_id)
    link.last_synced_snapshot = {**(link.last_synced_snapshot or {}), **item.values}
    link.remote_modified_at = item.modified_at
    link.archived = False
    return link


class Queue:
    """Which systems a changed hub record is pushed to: every system whose copy differs from the hub (and
    the source, to stamp our id). Each target's writable fields are worked out once per page."""

    def __init__(self, settings: Settings, entity: str, targets: Mapping[str, System]) -> None:
        self.rules = settings.program
        self.entity = entity
        self.writable = {name: {f.unified for f in system.maps[entity].fields if not f.read_only}
                         for name, system in targets.items() if entity in system.maps}

    def systems(self, values: Mapping[str, Any], linked: Mapping[str, links.Link], stamp: str | None) -> list[str]:
        wanted = []
        for name, writable in self.writable.items():
            link = linked.get(name)
            snapshot = (link.last_synced_snapshot or {}) if link is not None else None
            if snapshot is None or name == stamp or any(
                    snapshot.get(k) != v for k, v in pushable(self.rules, self.entity, name, values).items()
                    if k in writable):
                wanted.append(name)
        return wanted


def _deletes(session: Session, settings: Settings, entity: str, system: str, deleted: list[str],
             run_id: str | None, result: PageResult) -> None:
    """Records deleted in one system: archive/delete them everywhere per policy, or just unlink them. A
    deletion already taken is skipped: systems report the same one again (lookback, full pulls)."""
    policy = settings.program.delete_policy.get(entity, "archive")
    gone = [link for link in links.by_external(session, entity, system, deleted).values() if not link.archived]
    for link in gone:
        link.archived = True
    links.save(session, gone)
    result.deleted += len(gone)
    if policy == "ignore" or not gone:
        return
    hub_ids = [link.hub_id for link in gone]
    records.archive(session, entity, hub_ids, now())
    every = links.all_of(session, entity, hub_ids)
    session.execute(insert(CHANGE_LOG), [
        {"entity": entity, "hub_id": h, "field": "deleted", "old_value": None, "new_value": policy,
         "source_system": system, "rule": f"delete_policy:{policy}", "run_id": run_id} for h in hub_ids])
    for hub_id in hub_ids:
        others = [s for s, other in every.get(hub_id, {}).items() if s != system and not other.archived]
        if others:
            enqueue(session, entity=entity, hub_id=hub_id, systems=others, payload={"policy": policy},
                    operation="archive", run_id=run_id)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)
