"""deals: customer_phonetic with a (customer_country, customer_phonetic) index for conflict lookups

Revision ID: dedup1
Revises: 0001
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "dedup1"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deals") as batch_op:
        batch_op.add_column(sa.Column("customer_phonetic", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_deals_country_customer_phonetic", ["customer_country", "customer_phonetic"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("deals") as batch_op:
        batch_op.drop_index("ix_deals_country_customer_phonetic")
        batch_op.drop_column("customer_phonetic")
