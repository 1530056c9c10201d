"""Merging two hub partners and undoing it exactly.

A merge keeps one survivor, fills its fields by the survivorship rules, repoints the loser's links, deals
and accruals, and queues the CRM side (archive or merge the loser's record) in the outbox. Everything it
changed is snapshotted in `partner_merges`, so `unmerge` puts back the prior state field for field.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from config.program import Dedup
from sync.outbox import enqueue, linked_systems
from sync.store.tables import AccrualRow, DealRow, DuplicateCandidateRow, ExternalLinkRow, PartnerMergeRow, PartnerRow

FIELDS = ("name", "website", "email", "phone", "street", "city", "postal_code", "country", "tax_id", "tier")


class MergeError(ValueError):
    """A merge or unmerge that cannot be done as asked (the message says why)."""


def _when(row: PartnerRow) -> datetime:
    return row.modified_at or row.updated_at or row.created_at


def _systems(session: Session, hub_id: str) -> set[str]:
    return set(linked_systems(session, "partner", hub_id))


def survive(session: Session, rules: Dedup, survivor: PartnerRow, loser: PartnerRow) -> dict[str, Any]:
    """The survivor's field values after the merge (only those that change)."""
    systems = {survivor.id: _systems(session, survivor.id), loser.id: _systems(session, loser.id)}
    changes: dict[str, Any] = {}
    for name in FIELDS:
        mine, theirs = getattr(survivor, name), getattr(loser, name)
        if theirs in (None, "") or mine == theirs:
            continue
        rule = rules.survivorship.get(name, "most_complete")
        if mine in (None, ""):
            take = True
        elif rule == "most_recent":
            take = _when(loser) > _when(survivor)
        elif rule.startswith("prefer:"):
            system = rule.split(":", 1)[1]
            take = system in systems[loser.id] and system not in systems[survivor.id]
        else:
            take = len(str(theirs)) > len(str(mine))
        if take:
            changes[name] = theirs
    return changes


def choose_survivor(session: Session, rules: Dedup, a: PartnerRow, b: PartnerRow) -> tuple[PartnerRow, PartnerRow]:
    """The record in `preferred_system` survives; then the one in more systems; then the older; then the smaller id."""
    def rank(row: PartnerRow) -> tuple[bool, int, datetime, str]:
        systems = _systems(session, row.id)
        return (rules.preferred_system not in systems, -len(systems), row.created_at, row.id)

    first, second = sorted((a, b), key=rank)
    return first, second


def merge(session: Session, rules: Dedup, survivor: PartnerRow, loser: PartnerRow, *, score: float | None = None,
          merged_by: str = "auto", run_id: str | None = None) -> PartnerMergeRow:
    """Merge `loser` into `survivor` in this transaction; returns the merge record (for `unmerge`)."""
    if survivor.id == loser.id:
        raise MergeError(f"partner {survivor.id}: cannot merge a partner into itself")
    for row in (survivor, loser):
        if row.status != "active":
            raise MergeError(f"partner {row.id}: is {row.status}, only active partners merge")
    changes = survive(session, rules, survivor, loser)
    snapshot: dict[str, Any] = {
        "survivor": {name: getattr(survivor, name) for name in changes},
        "loser": {"status": loser.status, "merged_into": loser.merged_into},
        "deals": list(session.scalars(select(DealRow.id).where(DealRow.partner_id == loser.id))),
        "accruals": list(session.scalars(select(AccrualRow.id).where(AccrualRow.partner_id == loser.id))),
        "links_moved": [], "links_archived": [], "candidates": {},
    }
    taken = _systems(session, survivor.id)
    links = session.scalars(select(ExternalLinkRow).where(
        ExternalLinkRow.entity == "partner", ExternalLinkRow.hub_id == loser.id, ExternalLinkRow.archived.is_(False)))
    for link in links:
        if link.system not in taken:
            link.hub_id = survivor.id
            snapshot["links_moved"].append(link.id)
            continue
        link.archived = True
        snapshot["links_archived"].append(link.id)
        if rules.loser_action == "archive":
            enqueue(session, entity="partner", hub_id=loser.id, systems=[link.system], operation="archive",
                    payload={"external_id": link.external_id, "merged_into": survivor.id}, run_id=run_id)
    session.execute(update(DealRow).where(DealRow.partner_id == loser.id).values(partner_id=survivor.id))
    session.execute(update(AccrualRow).where(AccrualRow.partner_id == loser.id).values(partner_id=survivor.id))
    pair = sorted((survivor.id, loser.id))
    for candidate in session.scalars(select(DuplicateCandidateRow).where(
            DuplicateCandidateRow.partner_a == pair[0], DuplicateCandidateRow.partner_b == pair[1])):
        snapshot["candidates"][str(candidate.id)] = candidate.status
        candidate.status = "merged"
    for name, value in changes.items():
        setattr(survivor, name, value)
    loser.status, loser.merged_into = "merged", survivor.id
    session.flush()
    if changes:
        enqueue(session, entity="partner", hub_id=survivor.id, systems=linked_systems(session, "partner", survivor.id),
                payload=changes, run_id=run_id)
    record = PartnerMergeRow(survivor_id=survivor.id, loser_id=loser.id, score=score, snapshot=snapshot,
                             merged_by=merged_by)
    session.add(record)
    session.flush()
    return record


def unmerge(session: Session, merge_id: int, *, run_id: str | None = None) -> PartnerMergeRow:
    """Put back exactly what merge `merge_id` changed; the loser's CRM records are queued to be restored."""
    record = session.get(PartnerMergeRow, merge_id)
    if record is None:
        raise MergeError(f"merge {merge_id}: no such merge")
    if record.undone_at is not None:
        raise MergeError(f"merge {merge_id}: already undone at {record.undone_at.isoformat()}")
    later = session.scalar(select(PartnerMergeRow.id).where(
        PartnerMergeRow.loser_id == record.survivor_id, PartnerMergeRow.undone_at.is_(None)))
    if later is not None:
        raise MergeError(f"merge {merge_id}: survivor {record.survivor_id} was merged again (merge {later}); "
                         "undo that first")
    survivor = session.get(PartnerRow, record.survivor_id)
    loser = session.get(PartnerRow, record.loser_id)
    assert survivor is not None and loser is not None  # foreign keys guarantee both
    snap = record.snapshot
    for name, value in snap["survivor"].items():
        setattr(survivor, name, value)
    loser.status, loser.merged_into = snap["loser"]["status"], snap["loser"]["merged_into"]
    if snap["deals"]:
        session.execute(update(DealRow).where(DealRow.id.in_(snap["deals"])).values(partner_id=loser.id))
    if snap["accruals"]:
        session.execute(update(AccrualRow).where(AccrualRow.id.in_(snap["accruals"])).values(partner_id=loser.id))
    moved = snap["links_moved"] + snap["links_archived"]
    for link in session.scalars(select(ExternalLinkRow).where(ExternalLinkRow.id.in_(moved))):
        link.hub_id, link.archived = loser.id, False
    for candidate_id, status in snap["candidates"].items():
        candidate = session.get(DuplicateCandidateRow, int(candidate_id))
        if candidate is not None:
            candidate.status = status
    record.undone_at = datetime.now(record.merged_at.tzinfo)
    session.flush()
    restored = _restore_payload(loser)
    enqueue(session, entity="partner", hub_id=loser.id, systems=linked_systems(session, "partner", loser.id),
            payload=restored, run_id=run_id)
    if snap["survivor"]:
        enqueue(session, entity="partner", hub_id=survivor.id,
                systems=linked_systems(session, "partner", survivor.id), payload=dict(snap["survivor"]), run_id=run_id)
    return record


def _restore_payload(row: PartnerRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in FIELDS} | {"status": row.status}
