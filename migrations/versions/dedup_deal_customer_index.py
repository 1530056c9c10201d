"""deals: (customer_country, customer_key) index for registration-conflict lookups

Revision ID: dedup1
Revises: 0001
"""
from collections.abc import Sequence

from alembic import op

revision: str = "dedup1"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_deals_country_customer_key", "deals", ["customer_country", "customer_key"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_deals_country_customer_key", table_name="deals")
