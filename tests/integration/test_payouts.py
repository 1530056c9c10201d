"""Approval, payouts queued to the ERP, payment status back, roll-ups to the CRMs, reconciliation."""

from dataclasses import replace
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from sync import incentives
from sync.approvals import ApprovalError, approve
from sync.payouts import Bill, PayoutError, apply_bills, build, mark_sent
from sync.reconcile import reconcile
from sync.store import Store
from sync.store.tables import AccrualRow, ExternalLinkRow, OutboxRow, PartnerRow, PayoutRow, SyncErrorRow
from tests.integration.incentive_data import NOW, deal, partner, settings

PERIOD = "2026-11"


def seed(store: Store, vendor: bool = True) -> None:
    with store.session() as s:
        partner(s, "p1", **({"netsuite": "V-1"} if vendor else {}), salesforce="001P1")
        deal(s, "d1", "p1", "2026-09-15", "120000")
        deal(s, "d2", "p1", "2026-10-10", "20000", "EUR", {"software": "15000", "services": "5000"})
        s.add(ExternalLinkRow(entity="deal", hub_id="d2", system="hubspot", external_id="HS-2"))
    incentives.accrue(store, settings(), NOW)


def outbox(store: Store, entity: str) -> list[OutboxRow]:
    with store.session() as s:
        return list(s.scalars(select(OutboxRow).where(OutboxRow.entity == entity).order_by(OutboxRow.id)))


def test_approval_records_who_and_when_and_refuses_unknown_ids(store: Store) -> None:
    seed(store)
    with store.session() as s:
        pending = list(s.scalars(select(AccrualRow.id).where(AccrualRow.status == "pending").order_by(AccrualRow.key)))
    assert len(pending) == 3
    with pytest.raises(ApprovalError, match="accrual nope: no such accrual"), store.session() as s:
        approve(s, settings().program, by="ann", now=NOW, ids=[pending[0], "nope"])
    with store.session() as s:
        assert approve(s, settings().program, by="ann", now=NOW, ids=[pending[0]]) == 1
    with pytest.raises(ApprovalError, match="status is approved, not pending"), store.session() as s:
        approve(s, settings().program, by="ann", now=NOW, ids=[pending[0]])
    with store.session() as s:
        assert approve(s, settings().program, by="bob", now=NOW) == 2
        rows = {r.id: (r.approved_by, r.approved_at) for r in s.scalars(select(AccrualRow))}
    assert rows[pending[0]] == ("ann", NOW) and {rows[i][0] for i in pending[1:]} == {"bob"}


def test_payout_needs_an_erp_vendor_and_writes_nothing_without_one(store: Store) -> None:
    seed(store, vendor=False)
    with store.session() as s:
        approve(s, settings().program, by="ann", now=NOW)
        report = build(s, settings(), PERIOD, NOW)
    assert report.errors == ["partner p1 (Partner p1): partner_id: no vendor link in netsuite; sync the partner to "
                             "the ERP before paying it (nothing was written for it)"]
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(PayoutRow)) == 0
        assert s.scalar(select(func.count()).where(AccrualRow.payout_id.is_not(None))) == 0
        error = s.scalar(select(SyncErrorRow).where(SyncErrorRow.category == "no_erp_vendor"))
        assert error is not None and error.hub_id == "p1" and error.field == "partner_id"
    assert outbox(store, "payout") == []
    with pytest.raises(PayoutError, match="--period: '2026-13' is not a month"), store.session() as s:
        build(s, settings(), "2026-13", NOW)
    disabled = settings()
    disabled.erp.enabled = False
    with pytest.raises(PayoutError, match=r"erp\.enabled: the ERP is disabled"), store.session() as s:
        build(s, disabled, PERIOD, NOW)


def test_payouts_group_per_partner_and_period_and_queue_once(store: Store) -> None:
    seed(store)
    with store.session() as s:
        approve(s, settings().program, by="ann", now=NOW)
        report = build(s, settings(), PERIOD, NOW)
    assert len(report.created) == 1 and not report.errors
    queued = outbox(store, "payout")
    assert len(queued) == 1 and queued[0].system == "netsuite" and queued[0].hub_id == report.created[0]
    payload = queued[0].payload
    assert payload["vendor_id"] == "V-1" and payload["amount"] == {"amount": "9590.0000", "currency": "USD"}
    assert [(line["rule"], line["amount"]["amount"]) for line in payload["lines"]] == [
        ("commission:services", "270.0000"), ("commission:software", "7620.0000"), ("rebate:2026-Q3", "1200.0000"),
        ("spiff:launch", "500.0000")]
    with store.session() as s:
        again = build(s, settings(), PERIOD, NOW)
    assert again.created == again.updated == [] and len(outbox(store, "payout")) == 1
    # A later adjustment joins the payout while it is unsent, and the bill is queued again (same external id).
    with store.session() as s:
        s.execute(update(AccrualRow).where(AccrualRow.key == "deal:d2|spiff:launch|v1").values(payout_id=None))
        s.execute(update(PayoutRow).values(amount=PayoutRow.amount - Decimal(500)))
        assert build(s, settings(), PERIOD, NOW).updated == report.created
        mark_sent(s, report.created[0], "BILL-1", "netsuite", NOW)
        mark_sent(s, report.created[0], "BILL-1", "netsuite", NOW)
    assert [o.hub_id for o in outbox(store, "payout")] == report.created * 2
    with store.session() as s:
        s.execute(update(AccrualRow).where(AccrualRow.key == "deal:d2|spiff:launch|v1").values(payout_id=None))
        assert build(s, settings(), PERIOD, NOW).carried[0].startswith("partner p1: payout")
        links = select(func.count()).select_from(ExternalLinkRow).where(ExternalLinkRow.entity == "payout")
        assert s.scalar(links) == 1


def test_paid_bill_rolls_up_to_partner_and_deal_and_queues_to_crms(store: Store) -> None:
    seed(store)
    with store.session() as s:
        approve(s, settings().program, by="ann", now=NOW)
        payout_id = build(s, settings(), PERIOD, NOW).created[0]
        mark_sent(s, payout_id, "BILL-1", "netsuite", NOW)
    before = len(outbox(store, "partner"))
    with store.session() as s:
        apply_bills(s, settings(), [Bill(payout_id, "BILL-1", Decimal("9590"), "USD", "paid", Decimal("9590"), NOW)],
                    NOW)
    with store.session() as s:
        payout = s.get(PayoutRow, payout_id)
        assert payout is not None and (payout.status, payout.paid_amount) == ("paid", Decimal("9590"))
        assert set(s.scalars(select(AccrualRow.status))) == {"paid"}
        p1 = s.get(PartnerRow, "p1")
        assert p1 is not None and (p1.paid_ytd, p1.last_payout_at) == (Decimal("9590"), NOW)
    partner_rows = outbox(store, "partner")
    assert len(partner_rows) == before + 1 and partner_rows[-1].system == "salesforce"
    assert partner_rows[-1].payload["paid_ytd"] == {"amount": "9590.0000", "currency": "USD"}
    deal_rows = outbox(store, "deal")
    assert deal_rows[-1].system == "hubspot" and deal_rows[-1].payload["incentive_status"] == "paid"
    assert deal_rows[-1].payload["incentive_amount"] == {"amount": "2390.0000", "currency": "USD"}


def test_reconcile_finds_each_kind_of_difference(store: Store) -> None:
    seed(store)
    with store.session() as s:
        partner(s, "p2", netsuite="V-2")
        deal(s, "d9", "p2", "2026-11-02", "1000")
    incentives.accrue(store, settings(), NOW)
    with store.session() as s:
        approve(s, settings().program, by="ann", now=NOW)
        p1, p2 = sorted(build(s, settings(), PERIOD, NOW).created,
                        key=lambda i: s.get(PayoutRow, i).partner_id)  # type: ignore[union-attr]
        mark_sent(s, p1, "B1", "netsuite", NOW)
        mark_sent(s, p2, "B2", "netsuite", NOW)
    bill1 = Bill(p1, "B1", Decimal("9590"), "USD", "sent")
    bill2 = Bill(p2, "B2", Decimal("50"), "USD", "sent")
    with store.session() as s:
        assert reconcile(s, PERIOD, [bill1, bill2]) == []
        kinds = {
            "missing_bill": [bill1],
            "amount": [bill1, replace(bill2, amount=Decimal("50.01"))],
            "currency": [bill1, replace(bill2, currency="EUR")],
            "status": [bill1, replace(bill2, status="paid", paid_amount=Decimal(50))],
            "duplicate_bill": [bill1, bill2, replace(bill2, bill_id="B2-bis")],
            "unknown_bill": [bill1, bill2, Bill("stranger", "B3", Decimal(1), "USD", "sent", period=PERIOD)],
        }
        for kind, bills in kinds.items():
            found = reconcile(s, PERIOD, bills)
            assert [d.kind for d in found] == [kind], (kind, found)
        s.execute(update(PayoutRow).where(PayoutRow.id == p2).values(amount=Decimal(49)))
        assert [d.kind for d in reconcile(s, PERIOD, [bill1, replace(bill2, amount=Decimal(49))])] == ["payout_total"]
        s.execute(update(AccrualRow).where(AccrualRow.partner_id == "p2").values(payout_id=None))
        found = reconcile(s, PERIOD, [bill1, replace(bill2, amount=Decimal(49))])
        assert [d.kind for d in found] == ["missing_payout", "payout_total"]
        assert found[0].partner_id == "p2"


def test_cancelled_bill_frees_its_accruals_for_the_next_payout(store: Store) -> None:
    seed(store)
    with store.session() as s:
        approve(s, settings().program, by="ann", now=NOW)
        first = build(s, settings(), PERIOD, NOW).created[0]
        mark_sent(s, first, "B1", "netsuite", NOW)
        apply_bills(s, settings(), [Bill(first, "B1", Decimal("9590"), "USD", "cancelled")], NOW)
        assert s.scalar(select(func.count()).where(AccrualRow.payout_id.is_not(None))) == 0
        second = build(s, settings(), "2026-12", NOW).created[0]
        payout = s.get(PayoutRow, second)
        assert payout is not None and payout.amount == Decimal("9590")
        assert reconcile(s, PERIOD, [Bill(first, "B1", Decimal("9590"), "USD", "cancelled")]) == []


def test_on_payouts_changed_settles_what_the_engine_wrote(store: Store) -> None:
    from sync.context import RuleContext
    from sync.payouts import on_payouts_changed

    seed(store)
    with store.session() as s:
        approve(s, settings().program, by="ann", now=NOW)
        payout_id = build(s, settings(), PERIOD, NOW).created[0]
        s.execute(update(PayoutRow).values(status="paid", paid_amount=Decimal("9590"), paid_at=NOW))
        on_payouts_changed(RuleContext(session=s, settings=settings(), now=NOW), [payout_id])
        assert set(s.scalars(select(AccrualRow.status))) == {"paid"}
        p1 = s.get(PartnerRow, "p1")
        assert p1 is not None and p1.paid_ytd == Decimal("9590")


def test_mdf_claims_stay_within_the_tier_budget(store: Store) -> None:
    from datetime import date

    from sync.mdf import MdfError, claim

    seed(store)  # p1 is silver from October: 10,000 USD a quarter
    rules = settings().program
    with store.session() as s:
        row = claim(s, rules, partner_id="p1", reference="C-1", amount=Decimal("5000"), currency="EUR",
                    claimed_on=date(2026, 11, 3), now=NOW)
        assert (row.amount, row.fx_rate, row.status) == (Decimal("5400.00"), Decimal("1.08"), "pending")
    for reference, amount, message in [("C-1", "1", "already booked"),
                                       ("C-2", "4600.01", "exceeds the remaining silver budget 4600.00 USD"),
                                       ("C-3", "-1", "amount: must be positive")]:
        with pytest.raises(MdfError, match=message), store.session() as s:
            claim(s, rules, partner_id="p1", reference=reference, amount=Decimal(amount), currency="USD",
                  claimed_on=date(2026, 11, 4), now=NOW)
    with store.session() as s:
        claim(s, rules, partner_id="p1", reference="C-4", amount=Decimal("4600"), currency="USD",
              claimed_on=date(2026, 12, 4), now=NOW)
    incentives.accrue(store, settings(), NOW)  # re-pricing deals never touches claims
    with store.session() as s:
        assert s.scalar(select(func.sum(AccrualRow.amount)).where(AccrualRow.kind == "mdf")) == Decimal("10000")
        with pytest.raises(MdfError, match="tier 'registered' has no MDF budget"):
            claim(s, rules, partner_id="p1", reference="C-5", amount=Decimal(1), currency="USD",
                  claimed_on=date(2026, 9, 4), now=NOW)
