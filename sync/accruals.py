"""Booking: turn what each (subject, rule) should total into accrual rows, never counting twice.

Rows are append-only. The first row of a (subject, rule) is keyed `<subject>|<rule>|v<version>`; each
later change adds a row with the difference (an adjustment, or a reversal when the line is gone: the deal
was lost, deleted or moved to another partner), keyed with a sequence number. Keys are unique in the
table, so two runs racing on the same deal cannot both book it.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, insert, or_, select
from sqlalchemy.orm import Session

from config.program import ProgramRules
from sync.calc import Line
from sync.store.tables import AccrualRow, DealRow, new_id

PRICED = ("deal:", "partner:")  # subjects the rules price; MDF claims are booked as claimed
_COLUMNS = (AccrualRow.key, AccrualRow.partner_id, AccrualRow.deal_id, AccrualRow.rule, AccrualRow.rule_version,
            AccrualRow.period, AccrualRow.amount, AccrualRow.status)


@dataclass
class Booked:
    """What is already booked, per (subject, rule), across every partner."""

    rows: dict[tuple[str, str], list[tuple[Any, ...]]] = field(default_factory=lambda: defaultdict(list))
    partners: dict[str, set[tuple[str, str]]] = field(default_factory=lambda: defaultdict(set))

    def add(self, key: tuple[str, str], row: tuple[Any, ...]) -> None:
        self.rows[key].append(row)
        self.partners[row[1]].add(key)

    def of(self, partner_id: str) -> set[tuple[str, str]]:
        return self.partners[partner_id]


@dataclass
class Counts:
    originals: int = 0
    adjustments: int = 0
    reversals: int = 0

    def add(self, other: "Counts") -> None:
        self.originals += other.originals
        self.adjustments += other.adjustments
        self.reversals += other.reversals


def subject_of(key: str) -> str:
    return key.split("|", 1)[0]


def load(session: Session, partner_ids: Sequence[str]) -> Booked:
    """Rows of these partners, plus every row of any deal they hold or held (a deal may change partner)."""
    deals = select(DealRow.id).where(DealRow.partner_id.in_(partner_ids))
    held = select(AccrualRow.deal_id).where(AccrualRow.partner_id.in_(partner_ids), AccrualRow.deal_id.is_not(None))
    query = select(*_COLUMNS).where(
        or_(AccrualRow.partner_id.in_(partner_ids), AccrualRow.deal_id.in_(deals), AccrualRow.deal_id.in_(held))
    )
    booked = Booked()
    for row in session.execute(query):
        booked.add((subject_of(row.key), row.rule), tuple(row))
    return booked


def status_for(rules: ProgramRules, amount: Decimal, now: datetime, waiting: bool = False) -> dict[str, Any]:
    """Auto-approval: below the threshold (in absolute value) approve now, else wait for a person.
    An adjustment or reversal of a line still `waiting` for a person waits with it."""
    if not waiting and abs(amount) < rules.approval.auto_approve_below:
        return {"status": "approved", "approved_by": "auto", "approved_at": now}
    return {"status": "pending", "approved_by": None, "approved_at": None}


def book(rules: ProgramRules, partner_id: str, lines: Iterable[Line], booked: Booked, frozen: set[str],
         now: datetime) -> tuple[list[dict[str, Any]], Counts]:
    """Rows to insert so the partner's booked totals equal `lines`; subjects in `frozen` are left alone."""
    desired = {(line.subject, line.rule): line for line in lines}
    counts = Counts()
    new: list[dict[str, Any]] = []
    for key in sorted(desired.keys() | set(booked.of(partner_id))):
        if key[0] in frozen or not key[0].startswith(PRICED):
            continue
        line = desired.get(key)
        rows = booked.rows[key]
        mine = [r for r in rows if r[1] == partner_id]
        delta = (line.amount if line else Decimal(0)) - sum((r[6] for r in mine), Decimal(0))
        if not delta:
            continue
        version = line.version if line else max(r[4] for r in mine)
        seq = sum(1 for r in rows if r[4] == version)
        row_key = f"{key[0]}|{key[1]}|v{version}" + (f"|{seq}" if seq else "")
        if not mine:
            kind = line.kind if line else "adjustment"
            counts.originals += 1
        elif line is None:
            kind = "reversal"
            counts.reversals += 1
        else:
            kind = "adjustment"
            counts.adjustments += 1
        approval = status_for(rules, delta, now, waiting=any(r[7] == "pending" for r in mine))
        period = line.period if line else mine[0][5]
        deal_id = line.deal_id if line else mine[0][2]
        new.append({
            "id": new_id(), "key": row_key, "partner_id": partner_id, "deal_id": deal_id, "rule": key[1],
            "rule_version": version, "kind": kind, "period": period, "amount": delta, "currency": rules.currency,
            "source_amount": line.source_amount if line else None,
            "source_currency": line.source_currency if line else None,
            "fx_rate": line.fx_rate if line else None, "payout_id": None, "created_at": now, "updated_at": now,
            **approval,
        })
        booked.add(key, (row_key, partner_id, deal_id, key[1], version, period, delta, approval["status"]))
    return new, counts


def insert_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    """One bulk INSERT (executemany) for a chunk's new rows."""
    if rows:
        session.execute(insert(cast(Table, AccrualRow.__table__)), rows)
