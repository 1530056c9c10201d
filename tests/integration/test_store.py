"""The program database on SQLite and PostgreSQL: migrations match the tables, values stay exact."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from sync.store import Store
from sync.store.migrate import drift
from sync.store.tables import AccrualRow, ExternalLinkRow, PartnerRow, PayoutRow


def test_migrations_match_tables(database_url: str) -> None:
    assert drift(database_url) == []


def test_money_and_times_round_trip_exactly(store: Store) -> None:
    when = datetime(2026, 5, 1, 12, 30, tzinfo=UTC)
    with store.session() as s:
        s.add(PartnerRow(id="p1", name="Acme", modified_at=when))
        s.add(PayoutRow(id="po1", partner_id="p1", period="2026-05", amount=Decimal("0.1"), currency="USD"))
        s.flush()
        for i in range(10):
            s.add(AccrualRow(key=f"k{i}", partner_id="p1", rule="commission", kind="commission",
                             period="2026-05", amount=Decimal("0.1"), currency="USD",
                             fx_rate=Decimal("1.08345678"), payout_id="po1"))
    with store.session() as s:
        assert s.scalar(select(func.sum(AccrualRow.amount)).where(AccrualRow.payout_id == "po1")) == Decimal("1.0")
        row = s.scalars(select(AccrualRow)).first()
        assert row is not None and row.fx_rate == Decimal("1.08345678") and row.amount == Decimal("0.1")
        partner = s.get(PartnerRow, "p1")
        assert partner is not None and partner.modified_at == when and partner.created_at.tzinfo is not None


def test_naive_datetime_and_extra_precision_are_refused(store: Store) -> None:
    with pytest.raises(Exception, match="timezone-aware"), store.session() as s:
        s.add(PartnerRow(name="x", modified_at=datetime(2026, 1, 1)))
    with pytest.raises(Exception, match="decimal places"), store.session() as s:
        s.add(PartnerRow(name="x", accrued_ytd=Decimal("1.00001")))


def test_external_link_is_unique_per_system(store: Store) -> None:
    with store.session() as s:
        s.add(ExternalLinkRow(entity="partner", hub_id="h1", system="salesforce", external_id="001A"))
    with pytest.raises(Exception, match=r"(?i)unique"), store.session() as s:
        s.add(ExternalLinkRow(entity="partner", hub_id="h2", system="salesforce", external_id="001A"))
