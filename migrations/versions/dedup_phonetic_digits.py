"""phonetic keys keep words of digits: recompute the stored ones whose name key has a digit

The phonetic key (partners.phonetic_key, deals.customer_phonetic) used to drop numbers, so "Route 66" and
"Route 9" shared one; keys without a digit are unchanged. This backfill uses the phonetic key of this
release (`mapping.names.phonetic_key`) on the stored name keys. No schema change.

Revision ID: dedup2
Revises: health1
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mapping.names import phonetic_key

revision: str = "dedup2"
down_revision: str | None = "health1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5_000
# (table, name key column, phonetic key column)
KEYED = (("partners", "name_key", "phonetic_key"), ("deals", "customer_key", "customer_phonetic"))


def _rekey(table: str, key: str, phonetic: str) -> None:
    rows = sa.table(table, sa.column("id", sa.String), sa.column(key, sa.String), sa.column(phonetic, sa.String))
    has_digit = sa.or_(*(rows.c[key].contains(str(d)) for d in range(10)))
    update = rows.update().where(rows.c.id == sa.bindparam("row_id")).values({phonetic: sa.bindparam("code")})
    conn = op.get_bind()
    last = ""
    while True:  # one page at a time by id, so memory does not grow with the table
        page = conn.execute(sa.select(rows.c.id, rows.c[key]).where(has_digit, rows.c.id > last)
                            .order_by(rows.c.id).limit(BATCH)).all()
        if not page:
            return
        conn.execute(update, [{"row_id": row_id, "code": phonetic_key(name)} for row_id, name in page])
        last = page[-1][0]


def upgrade() -> None:
    for table, key, phonetic in KEYED:
        _rekey(table, key, phonetic)


def downgrade() -> None:
    """Nothing to undo in the schema; keys are refreshed by the rules whenever a record changes."""
