"""alerts: at most one firing row per rule x subject; reconcile_runs for the reconciliation alert

Revision ID: health1
Revises: dedup1
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sync.store.types

revision: str = "health1"
down_revision: str | None = "dedup1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIRING = sa.text("state = 'firing'")


def upgrade() -> None:
    op.create_table(
        "reconcile_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("ran_at", sync.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("differences", sa.Integer(), nullable=False),
        sa.Column("kinds", sync.store.types.JSONType, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconcile_runs")),
    )
    with op.batch_alter_table("reconcile_runs") as batch_op:
        batch_op.create_index("ix_reconcile_runs_period_ran", ["period", "ran_at"], unique=False)
    with op.batch_alter_table("alerts") as batch_op:
        batch_op.create_index("uq_alerts_firing", ["rule", "subject"], unique=True, sqlite_where=FIRING,
                              postgresql_where=FIRING)


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch_op:
        batch_op.drop_index("uq_alerts_firing")
    op.drop_table("reconcile_runs")
