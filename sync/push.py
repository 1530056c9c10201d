"""Push from the outbox: coalesce per record, map to the system, skip our own unchanged copies, record links.

At least once and idempotent: a row is marked sent only after the system answered; a crash before
that re-pushes the same record, which the system upserts by our external id.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from config import Settings
from connectors.base import PushResult, RateLimited, Record
from mapping.base import FieldMap
from sync import links, quarantine, records
from sync.fieldrules import pushable
from sync.outbox import payload_hash
from sync.store import Store
from sync.store.tables import OutboxRow, now
from sync.systems import System

CHUNK = 1000


@dataclass
class PushReport:
    sent: int = 0
    unchanged: int = 0
    waiting: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    rate_limited: bool = False


def push(store: Store, settings: Settings, system: System, entity: str, run_id: str | None = None) -> PushReport:
    """Drain the pending outbox rows of one system x entity, in chunks of records."""
    report = PushReport()
    fmap = system.maps[entity]
    after = 0
    while not report.rate_limited:
        with store.session() as session:
            rows = list(session.execute(
                select(OutboxRow.id, OutboxRow.hub_id, OutboxRow.operation)
                .where(OutboxRow.system == system.name, OutboxRow.entity == entity, OutboxRow.status == "pending",
                       OutboxRow.id > after)
                .order_by(OutboxRow.id).limit(CHUNK)))
        if not rows:
            return report
        after = rows[-1].id
        grouped: dict[str, list[int]] = defaultdict(list)
        archive: set[str] = set()
        for row in rows:
            grouped[row.hub_id].append(row.id)
            if row.operation == "archive":
                archive.add(row.hub_id)
        _push_chunk(store, settings, system, fmap, entity, grouped, archive, run_id, report)
    return report


def _push_chunk(store: Store, settings: Settings, system: System, fmap: FieldMap[Any], entity: str,
                grouped: dict[str, list[int]], archive: set[str], run_id: str | None, report: PushReport) -> None:
    with store.session() as session:
        hub = records.values(session, entity, [h for h in grouped if h not in archive], settings.program.currency)
        linked = links.by_hub(session, entity, system.name, grouped)
        outgoing, waiting = _records(session, settings, system, fmap, entity, hub, linked, run_id, report)
        unchanged = [h for h, out in outgoing.items() if h in linked and linked[h].last_pushed_hash == out.digest]
        _close(session, [i for h in unchanged for i in grouped[h]], "sent", "unchanged")
        report.unchanged += len(unchanged)
        report.waiting += len(waiting)
    for hub_id in unchanged:
        outgoing.pop(hub_id)
    doomed = {h: linked[h].external_id for h in archive if h in linked and not linked[h].archived}
    try:
        results = system.connector.push(entity, [out.record for out in outgoing.values()]) if outgoing else []
        archived = system.connector.archive(entity, list(doomed.values())) if doomed else []
    except RateLimited:
        report.rate_limited = True
        return
    with store.session() as session:
        by_key = {r.key: r for r in results}
        known = links.by_hub(session, entity, system.name, list(outgoing))
        settled = {hub_id: link for hub_id, out in outgoing.items()
                   if (link := _settle(session, system.name, entity, hub_id, out, by_key.get(hub_id), grouped[hub_id],
                                       run_id, report, known.get(hub_id)))}
        links.save(session, settled.values())
        quarantine.resolve(session, system.name, entity, list(settled), direction="out")
        _close(session, [i for h in settled for i in grouped[h]], "sent", None)
        gone = {r.key for r in archived if r.success}
        ended = [link for link in links.by_hub(session, entity, system.name, doomed).values()
                 if not link.archived and link.external_id in gone]
        for link in ended:
            link.archived = True
        links.save(session, ended)
        _close(session, [i for h in archive for i in grouped[h]], "sent", None)


@dataclass
class Outgoing:
    """A system record to push, the snapshot it leaves behind and its hash (our echo, when it comes back)."""

    record: Record
    snapshot: dict[str, Any]
    digest: str


def _records(session: Session, settings: Settings, system: System, fmap: FieldMap[Any], entity: str,
             hub: dict[str, dict[str, Any]], linked: dict[str, links.Link], run_id: str | None,
             report: PushReport) -> tuple[dict[str, Outgoing], list[str]]:
    """System records to push; records whose references wait."""
    writable = {f.unified for f in fmap.fields if not f.read_only}
    refs = {u: links.by_hub(session, e, system.name, [v[u] for v in hub.values() if v.get(u)])
            for u, e in fmap.references.items()}
    outgoing: dict[str, Outgoing] = {}
    waiting = []
    for hub_id, current in hub.items():
        values = {k: v for k, v in pushable(settings.program, entity, system.name, current).items() if k in writable}
        snapshot = dict(values)
        missing = False
        for unified, found in refs.items():
            if values.get(unified):
                link = found.get(values[unified])
                missing = missing or link is None
                values[unified] = link.external_id if link else None
        if missing:
            waiting.append(hub_id)
            continue
        try:
            record = fmap.to_record(typed(fmap, current, values), hub_id)
            if hub_id in linked:
                record[fmap.id_field] = linked[hub_id].external_id
            snapshot.update({k: v for k, v in echo(fmap, record, snapshot).items() if k not in fmap.references})
        except ValidationError as exc:
            record = values
            report.errors["mapping"] += 1
            quarantine.put(session, system=system.name, entity=entity, category="mapping", direction="out",
                           message=f"{system.name} {entity} {hub_id}: {exc.errors()[0]['msg']}", raw=record,
                           hub_id=hub_id, external_id=hub_id, run_id=run_id)
            continue
        outgoing[hub_id] = Outgoing(record, snapshot, payload_hash(record))
    return outgoing, waiting


def echo(fmap: FieldMap[Any], record: Record, fields: dict[str, Any]) -> dict[str, Any]:
    """What the system will report back for `record` once stored: its values through the map and the model.

    Fields the system only stores (write-only there, like an incentive amount as a plain number) do not
    survive the trip as unified values; they keep the hub's value in the snapshot.
    """
    values = {k: v for k, v in fmap.to_values(record).items() if k != "modified_at"}
    while True:
        try:
            return records.model_values(fmap.model.model_validate(values), [k for k in fields if k in values])
        except ValidationError as exc:
            broken = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
            if not broken & values.keys():
                raise
            values = {k: v for k, v in values.items() if k not in broken}


def typed(fmap: FieldMap[Any], current: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """Canonical hub values as the unified model's types (datetimes, Money, products) for the field map."""
    fields = fmap.model.model_fields
    model = fmap.model.model_validate({k: v for k, v in current.items() if k in fields})
    return {k: getattr(model, k) if k in fields and k not in fmap.references else v for k, v in values.items()}


def _settle(session: Session, system: str, entity: str, hub_id: str, out: Outgoing, result: PushResult | None,
            row_ids: list[int], run_id: str | None, report: PushReport, link: links.Link | None) -> links.Link | None:
    """The link of one pushed record, updated to remember it, or None after quarantining its failure; the
    caller saves the links and closes the outbox rows of the successes, each in one statement."""
    if result is None or not result.success or not (result.external_id or link):
        error = result.error if result is not None else None
        code = error.code if error else "NO_RESULT"
        report.errors["remote"] += 1
        quarantine.put(session, system=system, entity=entity, category="remote", direction="out",
                       message=f"{system} {entity} {hub_id}: {error or 'no result for this record'}",
                       field=error.fields[0] if error and error.fields else None, raw=out.record, hub_id=hub_id,
                       external_id=hub_id, run_id=run_id)
        _close(session, row_ids, "failed", code)
        return None
    if link is None:
        link = links.Link(entity=entity, hub_id=hub_id, system=system, external_id=str(result.external_id))
    link.last_pushed_hash = out.digest
    link.last_synced_snapshot = {**(link.last_synced_snapshot or {}), **out.snapshot}
    link.archived = False
    report.sent += 1
    return link


def _close(session: Session, row_ids: list[int], status: str, note: str | None) -> None:
    if row_ids:
        session.execute(update(OutboxRow).where(OutboxRow.id.in_(row_ids)).values(
            status=status, attempts=OutboxRow.attempts + 1, last_error=note, sent_at=now()))
