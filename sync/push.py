"""Push from the outbox to one system: coalesced per hub id, mapped, idempotent by external id.

Rows are locked while they are pushed (`SKIP LOCKED` on PostgreSQL), so concurrent workers never push
the same row; a crash leaves them pending and the next push repeats them (upserts are idempotent).
"""

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from config import Settings
from connectors.base import Connector, PushResult
from mapping.base import FieldMap
from sync import fieldrules, links, quarantine, records
from sync.pull import HUB_ID_KEY, echo_hash, pushable
from sync.store.tables import OutboxRow, now


@dataclass
class Change:
    """One planned write to a system, field by field (what `sync --dry-run` prints)."""

    system: str
    entity: str
    hub_id: str
    operation: str
    external_id: str | None
    fields: list[tuple[str, Any, Any]] = field(default_factory=list)


@dataclass
class Pushed:
    records_out: int = 0
    skipped: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    changes: list[Change] = field(default_factory=list)


def pending(session: Session, system: str, entity: str, limit: int) -> list[OutboxRow]:
    query = (select(OutboxRow).where(OutboxRow.system == system, OutboxRow.entity == entity,
                                     OutboxRow.status == "pending").order_by(OutboxRow.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


class Pusher:
    """Pushes one batch of outbox rows of one system x entity inside the caller's transaction."""

    def __init__(self, session: Session, settings: Settings, connector: Connector, fmap: FieldMap[Any],
                 run_id: str | None) -> None:
        self.session, self.connector, self.fmap, self.run_id = session, connector, fmap, run_id
        self.system, self.entity = fmap.system, fmap.entity
        self.rules = settings.program.field_rules.get(self.entity, {})
        self.result = Pushed()
        self.failed: set[str] = set()

    def outgoing(self, hub_id: str) -> dict[str, Any] | None:
        """The hub's current values this system receives, references as hub ids; None when gone."""
        current = records.load(self.session, self.entity, hub_id)
        if current is None:
            return None
        keep = pushable(self.fmap)
        return {k: v for k, v in current.items()
                if k in keep and fieldrules.sends(self.rules.get(k, "two_way"), self.system)}

    def push(self, rows: list[OutboxRow], *, apply: bool = True) -> Pushed:
        latest: dict[str, OutboxRow] = {}
        for row in rows:
            latest[row.hub_id] = row  # coalesce: one write per record, its newest operation
        upserts: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {}
        removals: list[OutboxRow] = []
        for hub_id, row in latest.items():
            if row.operation != "upsert":
                removals.append(row)
                continue
            values = self.outgoing(hub_id)
            if values is None:
                continue
            prepared = self._prepare(hub_id, values)
            if prepared is not None:
                upserts[hub_id] = (values, prepared, echo_hash(self.fmap, values))
        if apply:
            self._upsert(upserts)
            self._remove(removals)
            for row in rows:
                if row.status == "pending":
                    row.status, row.sent_at = ("failed" if row.hub_id in self.failed else "sent"), now()
        else:
            self._plan(upserts, removals)
        return self.result

    def _prepare(self, hub_id: str, values: dict[str, Any]) -> dict[str, Any] | None:
        """The system record for `values`, references turned into the system's ids; None to skip."""
        link = links.by_hub(self.session, self.entity, self.system, hub_id)
        if link is not None and not link.archived and link.last_pushed_hash == echo_hash(self.fmap, values):
            self.result.skipped += 1
            return None
        local = dict(values)
        for name, entity in self.fmap.references.items():
            if local.get(name) is None:
                continue
            external = links.external_id(self.session, entity, self.system, str(local[name]))
            if external is None:
                self._failed(hub_id, values, "reference", self.fmap.system_field(name),
                             f"{name}: {entity} {local[name]} is not in {self.system} yet")
                return None
            local[name] = external
        record = self.fmap.to_record(records.typed(self.entity, local), hub_id)
        if link is not None and (link.last_synced_snapshot or {}).get(HUB_ID_KEY) != hub_id:
            record[self.fmap.id_field] = link.external_id  # its record lacks our id: address it by its own
        return record

    def _upsert(self, upserts: dict[str, tuple[dict[str, Any], dict[str, Any], str]]) -> None:
        if not upserts:
            return
        results = self.connector.push(self.entity, [record for _, record, _ in upserts.values()])
        for result in results:
            if result.key not in upserts:
                continue
            values, record, digest = upserts[result.key]
            if result.success:
                self._linked(result, values, digest)
            else:
                error = result.error
                self._failed(result.key, record, "rejected", ", ".join(error.fields) if error else None,
                             str(error) if error else "rejected")

    def _linked(self, result: PushResult, values: dict[str, Any], digest: str) -> None:
        existing = links.by_hub(self.session, self.entity, self.system, result.key)
        external = result.external_id or (existing.external_id if existing else None)
        if external is None:
            self._failed(result.key, values, "rejected", None, "the system returned no record id")
            return
        link = links.link(self.session, self.entity, self.system, result.key, external)
        link.last_pushed_hash = digest
        link.last_synced_snapshot = {**(link.last_synced_snapshot or {}), **values, HUB_ID_KEY: result.key}
        self.result.records_out += 1

    def _remove(self, removals: list[OutboxRow]) -> None:
        targets = {row.hub_id: links.by_hub(self.session, self.entity, self.system, row.hub_id) for row in removals}
        live = {hub_id: link for hub_id, link in targets.items() if link is not None}
        if not live:
            return
        by_external = {link.external_id: (hub_id, link) for hub_id, link in live.items()}
        operation = {row.hub_id: row.operation for row in removals}
        for result in self.connector.archive(self.entity, list(by_external)):
            if result.key not in by_external:
                continue
            hub_id, link = by_external[result.key]
            if not result.success:
                self._failed(hub_id, {"external_id": result.key}, "rejected", None, str(result.error))
                continue
            self.result.records_out += 1
            if operation[hub_id] == "delete":
                self.session.delete(link)
            else:
                link.archived = True

    def _failed(self, hub_id: str, raw: dict[str, Any], category: str, fld: str | None, message: str) -> None:
        quarantine.add(self.session, system=self.system, entity=self.entity, raw=raw, category=category,
                       field=fld, message=f"push to {self.system} {self.entity} {hub_id}: {message}",
                       hub_id=hub_id, run_id=self.run_id, direction="out")
        self.result.errors[category] += 1
        self.failed.add(hub_id)

    def _plan(self, upserts: dict[str, tuple[dict[str, Any], dict[str, Any], str]],
              removals: list[OutboxRow]) -> None:
        for hub_id, (values, _record, _digest) in upserts.items():
            link = links.by_hub(self.session, self.entity, self.system, hub_id)
            before = (link.last_synced_snapshot or {}) if link is not None else {}
            changed = [(self.fmap.system_field(k), before.get(k), v) for k, v in sorted(values.items())
                       if before.get(k) != v]
            operation = "update" if link is not None else "create"
            self.result.changes.append(Change(self.system, self.entity, hub_id, operation,
                                              link.external_id if link else None, changed))
        for row in removals:
            external = links.external_id(self.session, self.entity, self.system, row.hub_id)
            if external is not None:
                self.result.changes.append(Change(self.system, self.entity, row.hub_id, row.operation, external))
