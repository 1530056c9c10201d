"""Partner deduplication on the hub: the rule the engine runs on changed partners, and the review queue.

Each changed partner is matched against the hub through the indexed blocking columns (domain, tax id,
phone, name key + country, phonetic key), never a scan. Pairs at or above `program.dedup.auto_merge` merge;
pairs between `review` and `auto_merge` wait in `duplicate_candidates` with the reasons.
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import Row, Select, String, and_, bindparam, cast, func, literal, null, or_, select, union_all
from sqlalchemy.orm import Session

from config.program import Dedup
from sync.context import RuleContext
from sync.matching import FIELDS, Keys, Match, keys, score
from sync.merge import MergeError, choose_survivor, merge, unmerge
from sync.store.tables import DuplicateCandidateRow, PartnerMergeRow, PartnerRow

CANDIDATE_LIMIT = 200


_KEYED_COLUMNS = (PartnerRow.id, *(getattr(PartnerRow, name) for name in FIELDS))


def partner_keys(row: Any) -> Keys:
    """The keys of a partner: a `PartnerRow`, or a plain row of its id and the matching FIELDS."""
    return keys(row.id, {name: getattr(row, name) for name in FIELDS})


def rekey(row: PartnerRow) -> Keys:
    """Store the blocking keys on the row (the indexed columns other partners are matched through)."""
    found = partner_keys(row)
    if (row.name_key, row.phonetic_key) != (found.name, found.phonetic):  # else the row stays clean: no flush
        row.name_key, row.phonetic_key = found.name, found.phonetic
    return found


def blocks(row: PartnerRow, found: Keys) -> dict[str, str]:
    """The indexed columns `row` is matched through, with its values (`name_key` also needs the country)."""
    values = {"website": found.domain, "tax_id": row.tax_id, "phone": row.phone, "name_key": found.name,
              "phonetic_key": found.phonetic}
    return {column: value for column, value in values.items() if value}


def candidates(session: Session, row: PartnerRow, found: Keys) -> list[Row[Any]]:
    """Active partners sharing a blocking key with `row`, found through the indexes: plain rows of their id
    and matching FIELDS (a popular name has up to CANDIDATE_LIMIT, most of which score low)."""
    values = blocks(row, found)
    if not values:
        return []
    query = _candidates_query(tuple(values), found.country is not None)
    return list(session.execute(query, {**values, "id": row.id, "country": found.country}))


@cache
def _candidates_query(columns: tuple[str, ...], has_country: bool) -> Select[Any]:
    """Built once per shape with bind parameters: a partner's lookup costs the query, not statement building."""
    country = PartnerRow.country == bindparam("country") if has_country else PartnerRow.country.is_(None)
    ors = [and_(PartnerRow.name_key == bindparam(column), country) if column == "name_key"
           else getattr(PartnerRow, column) == bindparam(column) for column in columns]
    return (select(*_KEYED_COLUMNS).where(or_(*ors), PartnerRow.id != bindparam("id"), PartnerRow.status == "active")
            .limit(CANDIDATE_LIMIT))


def shared(session: Session, keyed: Sequence[tuple[PartnerRow, Keys]]) -> set[tuple[str, str, str | None]]:
    """The blocking values of a page that more than one active partner holds, in one query: a partner
    holding none of them has no candidates, so it needs no query of its own."""
    parts = []
    for column in ("website", "tax_id", "phone", "name_key", "phonetic_key"):
        values = {value for row, found in keyed if (value := blocks(row, found).get(column))}
        if values:
            held = getattr(PartnerRow, column)
            country = PartnerRow.country if column == "name_key" else cast(null(), String)
            grouped = (held, PartnerRow.country) if column == "name_key" else (held,)
            parts.append(select(literal(column), held, country)
                         .where(PartnerRow.status == "active", held.in_(values))
                         .group_by(*grouped).having(func.count() > 1))
    return {(column, value, country) for column, value, country in session.execute(union_all(*parts))} if parts \
        else set()


def _holds_shared(row: PartnerRow, found: Keys, common: set[tuple[str, str, str | None]]) -> bool:
    return any((column, value, found.country if column == "name_key" else None) in common
               for column, value in blocks(row, found).items())


def _queue(session: Session, match: Match) -> None:
    a, b = sorted((match.a, match.b))
    existing = session.scalar(select(DuplicateCandidateRow).where(
        DuplicateCandidateRow.partner_a == a, DuplicateCandidateRow.partner_b == b))
    if existing is None:
        session.add(DuplicateCandidateRow(partner_a=a, partner_b=b, score=match.score, reasons=match.reasons))
    elif existing.status == "open":
        existing.score, existing.reasons = match.score, match.reasons


def _rejected(session: Session, a: str, b: str) -> bool:
    first, second = sorted((a, b))
    return session.scalar(select(DuplicateCandidateRow.id).where(
        DuplicateCandidateRow.partner_a == first, DuplicateCandidateRow.partner_b == second,
        DuplicateCandidateRow.status == "rejected")) is not None


def match_partner(session: Session, rules: Dedup, row: PartnerRow, run_id: str | None = None) -> list[Match]:
    """Refresh `row`'s keys, then merge or queue every match above `review`; returns the matches."""
    found = rekey(row)
    results: list[Match] = []
    for candidate in candidates(session, row, found):
        if row.status != "active":
            break
        match = score(found, partner_keys(candidate))
        if match.score < rules.review or _rejected(session, row.id, candidate.id):
            continue
        results.append(match)
        other = session.get(PartnerRow, candidate.id)  # the session's copy: a merge earlier in the page shows
        assert other is not None
        if match.score >= rules.auto_merge and other.status == "active":
            survivor, loser = choose_survivor(session, rules, row, other)
            merge(session, rules, survivor, loser, score=match.score, run_id=run_id)
            rekey(survivor)
        else:
            _queue(session, match)
    return results


def on_partners_changed(ctx: RuleContext, hub_ids: Sequence[str]) -> None:
    """Rule hook for the engine: match the partners of one applied page against the hub."""
    rules = ctx.settings.program.dedup
    rows = [row for hub_id in hub_ids if (row := ctx.session.get(PartnerRow, hub_id)) is not None
            and row.status == "active"]
    keyed = [(row, rekey(row)) for row in rows]
    common = shared(ctx.session, keyed)
    for row, found in keyed:
        if row.status == "active" and _holds_shared(row, found, common):
            match_partner(ctx.session, rules, row, ctx.run_id)


def open_candidates(session: Session, limit: int = 100) -> list[DuplicateCandidateRow]:
    return list(session.scalars(select(DuplicateCandidateRow).where(DuplicateCandidateRow.status == "open")
                                .order_by(DuplicateCandidateRow.score.desc()).limit(limit)))


def _candidate(session: Session, candidate_id: int) -> DuplicateCandidateRow:
    candidate = session.get(DuplicateCandidateRow, candidate_id)
    if candidate is None:
        raise MergeError(f"candidate {candidate_id}: no such duplicate candidate")
    if candidate.status != "open":
        raise MergeError(f"candidate {candidate_id}: already {candidate.status}")
    return candidate


def accept(session: Session, rules: Dedup, candidate_id: int, by: str) -> PartnerMergeRow:
    """A person confirms a queued pair: merge it (survivor chosen as for automatic merges)."""
    candidate = _candidate(session, candidate_id)
    a, b = session.get(PartnerRow, candidate.partner_a), session.get(PartnerRow, candidate.partner_b)
    assert a is not None and b is not None  # foreign keys guarantee both
    survivor, loser = choose_survivor(session, rules, a, b)
    record = merge(session, rules, survivor, loser, score=candidate.score, merged_by=by)
    rekey(survivor)
    candidate.decided_by, candidate.decided_at = by, datetime.now(UTC)
    return record


def undo(session: Session, merge_id: int) -> PartnerMergeRow:
    """Unmerge, then re-key both partners from their restored fields."""
    record = unmerge(session, merge_id)
    for partner_id in (record.survivor_id, record.loser_id):
        row = session.get(PartnerRow, partner_id)
        if row is not None:
            rekey(row)
    return record


def reject(session: Session, candidate_id: int, by: str) -> DuplicateCandidateRow:
    """A person says the pair are different firms; the pair is never proposed again."""
    candidate = _candidate(session, candidate_id)
    candidate.status, candidate.decided_by, candidate.decided_at = "rejected", by, datetime.now(UTC)
    return candidate
