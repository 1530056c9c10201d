"""Approval of accruals the program did not approve by itself; who and when are kept on the row."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from config.program import ProgramRules
from sync.rollups import roll_up
from sync.store import batches
from sync.store.tables import AccrualRow


class ApprovalError(ValueError):
    """A request that names accruals that do not exist or are not waiting; nothing is approved."""


def approve(session: Session, rules: ProgramRules, *, by: str, now: datetime,
            ids: Sequence[str] | None = None) -> int:
    """Approve the pending accruals `ids` (all pending when None); returns how many were approved."""
    if not by.strip():
        raise ApprovalError("--by: the approver's name is required")
    pending = AccrualRow.status == "pending"
    if ids is not None:
        found = {row.id: row.status for batch in batches(list(ids))
                 for row in session.execute(select(AccrualRow.id, AccrualRow.status).where(AccrualRow.id.in_(batch)))}
        missing = [i for i in ids if i not in found]
        if missing:
            raise ApprovalError(f"accrual {missing[0]}: no such accrual" + (f" (and {len(missing) - 1} more)"
                                                                             if len(missing) > 1 else ""))
        done = [i for i in ids if found[i] != "pending"]
        if done:
            raise ApprovalError(f"accrual {done[0]}: status is {found[done[0]]}, not pending")
    partners: set[str] = set()
    for batch in batches(list(ids)) if ids is not None else [None]:
        where = [pending] if batch is None else [pending, AccrualRow.id.in_(batch)]
        partners.update(session.scalars(select(AccrualRow.partner_id).where(*where).distinct()))
    count = 0
    for batch in batches(list(ids)) if ids is not None else [None]:
        where = [pending] if batch is None else [pending, AccrualRow.id.in_(batch)]
        result = session.execute(update(AccrualRow).where(*where)
                                 .values(status="approved", approved_by=by.strip(), approved_at=now, updated_at=now)
                                 .execution_options(synchronize_session=False))
        count += result.rowcount  # type: ignore[attr-defined]
    ordered = sorted(partners)
    for batch in batches(ordered, 100):
        roll_up(session, rules, batch, now)
    return count
