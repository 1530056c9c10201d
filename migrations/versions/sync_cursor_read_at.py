"""sync_cursors keep when a pull last read its stream to the end, and when deletions were last listed

Both are on the system's own clock (its HTTP `Date`): with them a pull starts at its cursor instead of
`sync.lookback_seconds` before it once the last read began well after the cursor's stamp, and HubSpot's
archived list is read every `hubspot.archived_every_seconds` instead of on every pull.

Revision ID: sync1
Revises: conflicts1
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sync.store.types

revision: str = "sync1"
down_revision: str | None = "conflicts1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sync_cursors") as batch_op:
        batch_op.add_column(sa.Column("read_at", sync.store.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("deletes_at", sync.store.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_cursors") as batch_op:
        batch_op.drop_column("deletes_at")
        batch_op.drop_column("read_at")
