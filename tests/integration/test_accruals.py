"""Golden tests of accrual: tiers, commission, SPIFF windows, rebates, adjustments, reversals, rounding."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError
from sqlalchemy import select, update

from sync import incentives
from sync.store import Store
from sync.store.tables import AccrualRow, DealProductRow, DealRow, PartnerRow, SyncErrorRow, TierHistoryRow
from tests.integration.incentive_data import NOW, deal, partner, program, settings


def booked(store: Store) -> dict[str, tuple[str, Decimal, str]]:
    with store.session() as s:
        return {r.key: (r.kind, r.amount, r.status) for r in s.scalars(select(AccrualRow))}


def seed_golden(store: Store) -> None:
    with store.session() as s:
        partner(s, "p1")
        deal(s, "d1", "p1", "2026-09-15", "120000")
        deal(s, "d2", "p1", "2026-10-10", "20000", "EUR", {"software": "15000", "services": "5000"})
        deal(s, "d3", "p1", "2026-11-01", "1234567", "JPY")


GOLDEN = {
    "deal:d1|commission:software|v1": ("commission", Decimal("6000.00"), "pending"),
    "deal:d2|commission:services|v1": ("commission", Decimal("270.00"), "approved"),
    "deal:d2|commission:software|v1": ("commission", Decimal("1620.00"), "pending"),
    "deal:d2|spiff:launch|v1": ("spiff", Decimal("500.00"), "approved"),
    "deal:d3|commission:software|v1": ("commission", Decimal("827.16"), "approved"),
    "partner:p1|rebate:2026-Q3|v1": ("rebate", Decimal("1200.00"), "pending"),
}


def test_golden_accruals_tiers_and_idempotent_rerun(store: Store) -> None:
    seed_golden(store)
    summary = incentives.accrue(store, settings(), NOW)
    assert summary.counts.originals == 6 and not summary.quarantined
    assert booked(store) == GOLDEN
    with store.session() as s:
        history = {(r.period, r.tier, r.trailing_revenue) for r in s.scalars(select(TierHistoryRow))}
        assert history == {("2026-09", "registered", Decimal(0)), ("2026-10", "silver", Decimal("120000")),
                           ("2026-11", "silver", Decimal("141600.00"))}
        p1 = s.get(PartnerRow, "p1")
        assert p1 is not None and p1.tier == "silver" and p1.accrued_ytd == Decimal("10417.16")
        d2 = s.get(DealRow, "d2")
        assert d2 is not None and (d2.incentive_amount, d2.incentive_status) == (Decimal("2390.00"), "pending")
        row = s.scalar(select(AccrualRow).where(AccrualRow.key == "deal:d3|commission:software|v1"))
        assert row is not None and (row.source_amount, row.source_currency, row.fx_rate) == (
            Decimal("1234567"), "JPY", Decimal("0.0067"))
        assert row.approved_by == "auto" and row.approved_at == NOW
    again = incentives.accrue(store, settings(), NOW)
    assert again.counts.originals == again.counts.adjustments == again.counts.reversals == 0
    assert booked(store) == GOLDEN


def test_changed_deal_adjusts_lost_and_deleted_deals_reverse(store: Store) -> None:
    seed_golden(store)
    incentives.accrue(store, settings(), NOW)
    with store.session() as s:
        s.execute(update(DealRow).where(DealRow.id == "d2").values(amount=Decimal("15000")))
        s.execute(update(DealProductRow).where(DealProductRow.deal_id == "d2", DealProductRow.family == "software")
                  .values(amount=Decimal("10000")))
        s.execute(update(DealRow).where(DealRow.id == "d3").values(stage="lost"))
    incentives.accrue(store, settings(), NOW)
    rows = booked(store)
    # The adjustment waits with the line it adjusts (1,620.00 is pending a person); small ones approve.
    assert rows["deal:d2|commission:software|v1|1"] == ("adjustment", Decimal("-540.00"), "pending")
    assert rows["deal:d3|commission:software|v1|1"] == ("reversal", Decimal("-827.16"), "approved")
    assert len(rows) == 8
    with store.session() as s:
        s.execute(update(DealRow).where(DealRow.id == "d1").values(deleted_at=NOW))
    incentives.accrue(store, settings(), NOW)
    rows = booked(store)
    # d1 gone: its commission and the Q3 rebate reverse; October loses silver, so d2 is re-rated.
    assert rows["deal:d1|commission:software|v1|1"] == ("reversal", Decimal("-6000.00"), "pending")
    assert rows["partner:p1|rebate:2026-Q3|v1|1"] == ("reversal", Decimal("-1200.00"), "pending")
    assert rows["deal:d2|commission:software|v1|2"] == ("adjustment", Decimal("-540.00"), "pending")
    assert rows["deal:d2|commission:services|v1|1"] == ("adjustment", Decimal("-108.00"), "approved")
    totals: dict[str, Decimal] = {}
    for key, (_, amount, _) in rows.items():
        base = "|".join(key.split("|")[:2])
        totals[base] = totals.get(base, Decimal(0)) + amount
    assert {k: v for k, v in totals.items() if v} == {"deal:d2|commission:software": Decimal("540.00"),
                                                      "deal:d2|commission:services": Decimal("162.00"),
                                                      "deal:d2|spiff:launch": Decimal("500.00")}
    with store.session() as s:
        d3 = s.get(DealRow, "d3")
        assert d3 is not None and (d3.incentive_amount, d3.incentive_status) == (Decimal(0), "reversed")


def test_spiff_window_edges(store: Store) -> None:
    with store.session() as s:
        partner(s, "p1")
        deal(s, "before", "p1", "2026-09-30T23:59:00", "20000")
        deal(s, "first", "p1", "2026-10-01", "20000")
        deal(s, "last", "p1", "2026-10-31T23:00:00", "20000")
        deal(s, "after", "p1", "2026-11-01", "20000")
        deal(s, "small", "p1", "2026-10-15", "9999.99")
        deal(s, "services", "p1", "2026-10-15", "20000", products={"services": "20000"})
    incentives.accrue(store, settings(), NOW)
    spiffs = {k.split("|")[0] for k, (kind, _, _) in booked(store).items() if kind == "spiff"}
    assert spiffs == {"deal:first", "deal:last"}


@pytest.mark.parametrize(("mode", "first", "second"), [("retroactive", "3000.00", "9000.00"),
                                                      ("marginal", "2000.00", "4000.00")])
def test_rebate_tier_crossing(store: Store, mode: str, first: str, second: str) -> None:
    rebates = {"mode": mode, "period": "quarter",
               "bands": [{"from_revenue": 0, "up_to": 100000, "rate": 0},
                         {"from_revenue": 100000, "up_to": 500000, "rate": "0.01"},
                         {"from_revenue": 500000, "rate": "0.02"}]}
    with store.session() as s:
        partner(s, "p1")
        deal(s, "a", "p1", "2026-10-02", "300000")
    incentives.accrue(store, settings(rebates=rebates), NOW)
    with store.session() as s:
        deal(s, "b", "p1", "2026-11-02", "300000")
    incentives.accrue(store, settings(rebates=rebates), NOW)
    rows = booked(store)
    assert rows["partner:p1|rebate:2026-Q4|v1"][1] == Decimal(first)
    assert rows["partner:p1|rebate:2026-Q4|v1|1"] == ("adjustment", Decimal(second), "pending")


def test_rounding_half_even_per_line_across_currencies(store: Store) -> None:
    with store.session() as s:
        partner(s, "p1")
        deal(s, "half-down", "p1", "2026-08-01", "100.50")   # 5.025 -> 5.02
        deal(s, "half-up", "p1", "2026-08-02", "100.70")     # 5.035 -> 5.04
        deal(s, "eur", "p1", "2026-08-03", "33.33", "EUR")   # 33.33 x 1.08 x 0.05 = 1.799820 -> 1.80
    incentives.accrue(store, settings(), NOW)
    rows = booked(store)
    assert [rows[f"deal:{d}|commission:software|v1"][1] for d in ("half-down", "half-up", "eur")] == [
        Decimal("5.02"), Decimal("5.04"), Decimal("1.80")]


def test_program_in_yen_rounds_to_whole_yen(store: Store) -> None:
    with store.session() as s:
        partner(s, "p1")
        deal(s, "usd", "p1", "2026-08-01", "10.01")   # 10.01 x 150.5 x 0.05 = 75.32525 -> 75
        deal(s, "jpy", "p1", "2026-08-02", "1010", "JPY")  # 50.5 -> 50 (half-even)
    incentives.accrue(store, settings(currency="JPY", fx_rates={"USD": "150.5"},
                                      spiffs=[], mdf=[]), NOW)
    rows = booked(store)
    assert rows["deal:usd|commission:software|v1"][1:] == (Decimal("75"), "approved")
    assert rows["deal:jpy|commission:software|v1"][1] == Decimal("50")


def test_bad_deals_are_quarantined_the_rest_accrues(store: Store) -> None:
    with store.session() as s:
        partner(s, "p1")
        deal(s, "good", "p1", "2026-08-01", "1000")
        deal(s, "negative", "p1", "2026-08-01", "-5")
        deal(s, "chf", "p1", "2026-08-01", "1000", "CHF")
        deal(s, "widgets", "p1", "2026-08-01", "1000", products={"widgets": "1000"})
    summary = incentives.accrue(store, settings(), NOW)
    assert [k for k in booked(store)] == ["deal:good|commission:software|v1"]
    assert summary.quarantined == [
        "deal chf: currency: unknown currency 'CHF': not USD and not in program.fx_rates",
        "deal negative: amount: negative amount -5.0000",
        "deal widgets: products.family: no commission rate for family 'widgets' in tier 'registered'",
    ]
    incentives.accrue(store, settings(), NOW)
    with store.session() as s:
        errors = {(e.hub_id, e.field, e.attempts, e.status) for e in s.scalars(select(SyncErrorRow))}
        assert errors == {("chf", "currency", 2, "open"), ("negative", "amount", 2, "open"),
                          ("widgets", "products.family", 2, "open")}
        s.execute(update(DealRow).where(DealRow.id == "negative").values(amount=Decimal(5)))
        s.execute(update(DealProductRow).where(DealProductRow.deal_id == "negative").values(amount=Decimal(5)))
    incentives.accrue(store, settings(), NOW)
    assert "deal:negative|commission:software|v1" in booked(store)
    with store.session() as s:
        error = s.scalar(select(SyncErrorRow).where(SyncErrorRow.hub_id == "negative"))
        assert error is not None and error.status == "resolved" and error.raw_payload["amount"] == "-5.0000"


def test_deal_moved_to_another_partner_reverses_and_books_again(store: Store) -> None:
    with store.session() as s:
        partner(s, "p1")
        partner(s, "p2")
        deal(s, "d", "p1", "2026-08-01", "1000")
    incentives.accrue(store, settings(), NOW)
    with store.session() as s:
        s.execute(update(DealRow).where(DealRow.id == "d").values(partner_id="p2"))
    incentives.accrue(store, settings(), NOW)
    with store.session() as s:
        rows = {(r.key, r.partner_id, r.kind, r.amount) for r in s.scalars(select(AccrualRow))}
    assert rows == {("deal:d|commission:software|v1", "p1", "commission", Decimal("50.00")),
                    ("deal:d|commission:software|v1|1", "p1", "reversal", Decimal("-50.00")),
                    ("deal:d|commission:software|v1|2", "p2", "commission", Decimal("50.00"))}


def test_rule_version_bump_books_the_difference_under_the_new_version(store: Store) -> None:
    with store.session() as s:
        partner(s, "p1")
        deal(s, "d", "p1", "2026-08-01", "1000")
    incentives.accrue(store, settings(), NOW)
    raised = {"version": 2, "rates": {"registered": {"software": "0.06", "services": "0.03"},
                                      "silver": {"software": "0.10", "services": "0.05"}}}
    incentives.accrue(store, settings(commission=raised), NOW)
    incentives.accrue(store, settings(commission=raised), NOW)
    assert booked(store) == {"deal:d|commission:software|v1": ("commission", Decimal("50.00"), "approved"),
                             "deal:d|commission:software|v2": ("adjustment", Decimal("10.00"), "approved")}


@pytest.mark.parametrize(("change", "message"), [
    ({"rebates": {"bands": [{"from_revenue": 0, "up_to": 100, "rate": 0}, {"from_revenue": 200, "rate": "0.1"}]}},
     "gap after 100"),
    ({"rebates": {"bands": [{"from_revenue": 0, "up_to": 100, "rate": 0}, {"from_revenue": 50, "rate": "0.1"}]}},
     "overlap after 100"),
    ({"commission": {"rates": {"registered": {"software": "0.05"}, "silver": {"services": "0.1"}}}},
     "gap: tier 'registered' has no rate for services"),
    ({"fx_rates": {"ZZZ": 1}}, "unknown currency 'ZZZ'"),
    ({"commission": {"rates": {"registered": {"software": "-0.05"}}}}, "greater than or equal to 0"),
])
def test_bad_rate_tables_are_refused(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        program(**change)


def test_on_deals_changed_recomputes_the_holders(store: Store) -> None:
    from sync.context import RuleContext

    with store.session() as s:
        partner(s, "p1")
        deal(s, "d", "p1", "2026-08-01", "1000")
    with store.session() as s:
        incentives.on_deals_changed(RuleContext(session=s, settings=settings(), now=NOW), ["d"])
    assert list(booked(store)) == ["deal:d|commission:software|v1"]
    with store.session() as s:
        s.execute(update(DealRow).where(DealRow.id == "d").values(stage="lost", closed_at=datetime(2026, 9, 1,
                                                                                                  tzinfo=UTC)))
        incentives.on_deals_changed(RuleContext(session=s, settings=settings(), now=NOW), ["d"])
    assert booked(store)["deal:d|commission:software|v1|1"][:2] == ("reversal", Decimal("-50.00"))


def test_racing_runs_never_double_count(store: Store) -> None:
    import threading

    from sqlalchemy.exc import DBAPIError

    seed_golden(store)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def run() -> None:
        start.wait()
        try:
            with store.session() as s:
                incentives.accrue_partners(s, settings().program, ["p1"], NOW)
            outcomes.append("committed")
        except DBAPIError as exc:  # the loser of the race: unique key (PostgreSQL) or stale snapshot (SQLite)
            outcomes.append(type(exc.orig).__name__)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert "committed" in outcomes and len(outcomes) == 2
    assert booked(store) == GOLDEN
