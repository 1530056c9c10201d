"""deals: on PostgreSQL the conflict check's rival lookup is a PL/pgSQL function, so the server keeps its plan

A conflict check runs one lookup (`sync.conflicts.rivals`). Sent as a statement it is parsed and planned on
every execution unless psycopg has prepared it, and psycopg forgets its prepared statements at every
ROLLBACK (about 0.7 ms of a 1.6 ms check at 1M registrations). A PL/pgSQL function's plan stays cached in
the server session across commits and rollbacks. The query is `sync.conflicts._rivals_query()` as SQL;
`tests/integration/test_conflicts.py` checks that both return the same rows. A change to the rival rules
needs a new migration that replaces the function. SQLite needs nothing (sqlite3 keeps compiled statements).

Revision ID: conflicts1
Revises: dedup2
"""
from collections.abc import Sequence

from alembic import op

revision: str = "conflicts1"
down_revision: str | None = "dedup2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RIVALS = """
CREATE OR REPLACE FUNCTION partnersync_deal_rivals(
    p_deal_id varchar, p_now timestamptz, p_domain varchar, p_key varchar, p_country varchar,
    p_phonetic varchar, p_limit integer)
RETURNS TABLE (id varchar, partner_id varchar, is_partner_deal boolean, customer_domain varchar,
               customer_country varchar, customer_key varchar, registered timestamptz, family varchar,
               rule varchar)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY
    SELECT d.id, d.partner_id, d.is_partner_deal, d.customer_domain, d.customer_country, d.customer_key,
           coalesce(d.registered_at, d.created_at), p.family, c.rule
    FROM deals AS d
    JOIN deal_products AS p ON p.deal_id = d.id
    LEFT OUTER JOIN registration_conflicts AS c
        ON (c.deal_id = p_deal_id AND c.other_deal_id = d.id) OR (c.deal_id = d.id AND c.other_deal_id = p_deal_id)
    WHERE (d.customer_domain = p_domain
           OR (d.customer_key = p_key AND d.customer_country = p_country)
           OR (d.customer_country = p_country AND d.customer_phonetic = p_phonetic))
      AND d.id != p_deal_id AND d.deleted_at IS NULL
      AND ((d.is_partner_deal IS true
            AND (d.registration_status = 'submitted' OR d.registration_status = 'approved')
            AND (d.expires_at IS NULL OR d.expires_at > p_now))
           OR (d.is_partner_deal IS false AND d.stage = 'open'))
      AND coalesce(p.family, '') IN (SELECT m.family FROM deal_products AS m WHERE m.deal_id = p_deal_id)
    LIMIT p_limit;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(RIVALS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION partnersync_deal_rivals(varchar, timestamptz, varchar, varchar, varchar, "
                   "varchar, integer)")
