"""The program database: unified records, links to every system, and all sync state."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, MetaData, String, Text, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from sync.store.types import Amount, JSONType, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> str:
    """A stable hub id (`partnersync_id`), written to every system the record reaches."""
    return uuid.uuid4().hex


def now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), Decimal: Amount(), dict[str, Any]: JSONType}


class _Stamped:
    created_at: Mapped[datetime] = mapped_column(default=now)
    updated_at: Mapped[datetime] = mapped_column(default=now, onupdate=now, index=True)


class PartnerRow(_Stamped, Base):
    __tablename__ = "partners"
    __table_args__ = (Index("ix_partners_name_key_country", "name_key", "country"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    name_key: Mapped[str | None] = mapped_column(String(255))
    phonetic_key: Mapped[str | None] = mapped_column(String(64), index=True)
    website: Mapped[str | None] = mapped_column(String(255), index=True)
    email: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    street: Mapped[str | None] = mapped_column(String(255))
    city: Mapped[str | None] = mapped_column(String(128))
    postal_code: Mapped[str | None] = mapped_column(String(32))
    country: Mapped[str | None] = mapped_column(String(2))
    tax_id: Mapped[str | None] = mapped_column(String(64), index=True)
    tier: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="active")
    merged_into: Mapped[str | None] = mapped_column(ForeignKey("partners.id"), index=True)
    accrued_ytd: Mapped[Decimal | None]
    paid_ytd: Mapped[Decimal | None]
    last_payout_at: Mapped[datetime | None]
    modified_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]


class DealRow(_Stamped, Base):
    __tablename__ = "deals"
    __table_args__ = (
        Index("ix_deals_customer_key_country", "customer_key", "customer_country"),
        # conflict checks: customers spelled differently but sounding the same, in one country
        Index("ix_deals_country_customer_phonetic", "customer_country", "customer_phonetic"),
        Index("ix_deals_status_expires", "registration_status", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    partner_id: Mapped[str | None] = mapped_column(ForeignKey("partners.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    customer_name: Mapped[str | None] = mapped_column(String(255))
    customer_key: Mapped[str | None] = mapped_column(String(255))
    customer_phonetic: Mapped[str | None] = mapped_column(String(64))
    customer_domain: Mapped[str | None] = mapped_column(String(255), index=True)
    customer_country: Mapped[str | None] = mapped_column(String(2))
    amount: Mapped[Decimal | None]
    currency: Mapped[str | None] = mapped_column(String(3))
    stage: Mapped[str] = mapped_column(String(16), default="open")
    registration_status: Mapped[str] = mapped_column(String(16), default="submitted")
    is_partner_deal: Mapped[bool] = mapped_column(Boolean, default=True)
    registered_at: Mapped[datetime | None]
    approved_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    owner: Mapped[str | None] = mapped_column(String(255))
    conflict_flag: Mapped[bool] = mapped_column(Boolean, default=False)
    conflict_reason: Mapped[str | None] = mapped_column(Text)
    sla_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    incentive_amount: Mapped[Decimal | None]
    incentive_status: Mapped[str | None] = mapped_column(String(16))
    modified_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]


class DealProductRow(Base):
    __tablename__ = "deal_products"
    __table_args__ = (Index("ix_deal_products_family_deal", "family", "deal_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    deal_id: Mapped[str] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"), index=True)
    product: Mapped[str] = mapped_column(String(255))
    family: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[Decimal] = mapped_column(default=Decimal(1))
    amount: Mapped[Decimal | None]
    currency: Mapped[str | None] = mapped_column(String(3))


class AccrualRow(_Stamped, Base):
    __tablename__ = "accruals"
    __table_args__ = (
        UniqueConstraint("key"),
        Index("ix_accruals_partner_period", "partner_id", "period"),
        Index("ix_accruals_status_period", "status", "period"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    key: Mapped[str] = mapped_column(String(255))
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    deal_id: Mapped[str | None] = mapped_column(ForeignKey("deals.id"), index=True)
    rule: Mapped[str] = mapped_column(String(128))
    rule_version: Mapped[int] = mapped_column(Integer, default=1)
    kind: Mapped[str] = mapped_column(String(16))
    period: Mapped[str] = mapped_column(String(7))
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    source_amount: Mapped[Decimal | None]
    source_currency: Mapped[str | None] = mapped_column(String(3))
    fx_rate: Mapped[Decimal | None] = mapped_column(Amount(20, 8))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    approved_by: Mapped[str | None] = mapped_column(String(255))
    approved_at: Mapped[datetime | None]
    payout_id: Mapped[str | None] = mapped_column(ForeignKey("payouts.id"), index=True)


class PayoutRow(_Stamped, Base):
    __tablename__ = "payouts"
    __table_args__ = (UniqueConstraint("partner_id", "period", "currency"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    period: Mapped[str] = mapped_column(String(7), index=True)
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default="approved")
    erp_system: Mapped[str | None] = mapped_column(String(16))
    erp_bill_id: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime | None]
    paid_amount: Mapped[Decimal | None]
    paid_at: Mapped[datetime | None]


class TierHistoryRow(Base):
    __tablename__ = "tier_history"
    __table_args__ = (UniqueConstraint("partner_id", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    period: Mapped[str] = mapped_column(String(7))
    tier: Mapped[str] = mapped_column(String(64))
    trailing_revenue: Mapped[Decimal]
    computed_at: Mapped[datetime] = mapped_column(default=now)


class ExternalLinkRow(_Stamped, Base):
    """One hub record <-> one record in one system; the pushed hash suppresses our own echo."""

    __tablename__ = "external_links"
    __table_args__ = (
        UniqueConstraint("entity", "system", "external_id"),
        UniqueConstraint("entity", "hub_id", "system"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(16))
    hub_id: Mapped[str] = mapped_column(String(32), index=True)
    system: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    last_pushed_hash: Mapped[str | None] = mapped_column(String(64))
    last_synced_snapshot: Mapped[dict[str, Any] | None]
    remote_modified_at: Mapped[datetime | None]
    archived: Mapped[bool] = mapped_column(Boolean, default=False)


class SyncCursorRow(Base):
    __tablename__ = "sync_cursors"

    system: Mapped[str] = mapped_column(String(16), primary_key=True)
    entity: Mapped[str] = mapped_column(String(16), primary_key=True)
    modified_at: Mapped[datetime | None]
    last_id: Mapped[str | None] = mapped_column(String(64))
    read_at: Mapped[datetime | None]  # the system's clock when a pull last read the stream to its end
    deletes_at: Mapped[datetime | None]  # the system's clock when deletions were last listed
    full_sync_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=now, onupdate=now)


class SyncRunRow(Base):
    __tablename__ = "sync_runs"
    __table_args__ = (Index("ix_sync_runs_stream_started", "system", "entity", "started_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    system: Mapped[str] = mapped_column(String(16))
    entity: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(16), default="incremental")
    status: Mapped[str] = mapped_column(String(16), default="running")
    started_at: Mapped[datetime] = mapped_column(default=now)
    finished_at: Mapped[datetime | None]
    records_in: Mapped[int] = mapped_column(Integer, default=0)
    records_out: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[dict[str, Any]] = mapped_column(default=dict)
    api_calls: Mapped[int] = mapped_column(Integer, default=0)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    newest_change_at: Mapped[datetime | None]
    lag_seconds: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str | None] = mapped_column(Text)


class SyncErrorRow(_Stamped, Base):
    """Quarantine: the raw payload, why it failed, and how often it was replayed."""

    __tablename__ = "sync_errors"
    __table_args__ = (Index("ix_sync_errors_status_stream", "status", "system", "entity"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str | None] = mapped_column(String(32))
    system: Mapped[str] = mapped_column(String(16))
    entity: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(8), default="in")
    external_id: Mapped[str | None] = mapped_column(String(64), index=True)
    hub_id: Mapped[str | None] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(32))
    field: Mapped[str | None] = mapped_column(String(128))
    message: Mapped[str] = mapped_column(Text)
    raw_payload: Mapped[dict[str, Any]]
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="open")
    last_attempt_at: Mapped[datetime] = mapped_column(default=now)


class OutboxRow(Base):
    """Transactional outbox: written with the page that caused it, pushed at least once."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_stream_status", "system", "entity", "status", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    system: Mapped[str] = mapped_column(String(16))
    entity: Mapped[str] = mapped_column(String(16))
    hub_id: Mapped[str] = mapped_column(String(32))
    operation: Mapped[str] = mapped_column(String(16), default="upsert")
    payload: Mapped[dict[str, Any]]
    payload_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=now)
    sent_at: Mapped[datetime | None]


class ChangeLogRow(Base):
    """Field-level lineage: who changed what, where and when."""

    __tablename__ = "change_log"
    __table_args__ = (Index("ix_change_log_record", "entity", "hub_id", "field"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(16))
    hub_id: Mapped[str] = mapped_column(String(32))
    field: Mapped[str] = mapped_column(String(128))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    source_system: Mapped[str] = mapped_column(String(16))
    source_modified_at: Mapped[datetime | None]
    rule: Mapped[str | None] = mapped_column(String(64))
    run_id: Mapped[str | None] = mapped_column(String(32), index=True)
    changed_at: Mapped[datetime] = mapped_column(default=now)


class DuplicateCandidateRow(_Stamped, Base):
    __tablename__ = "duplicate_candidates"
    __table_args__ = (UniqueConstraint("partner_a", "partner_b"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    partner_a: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    partner_b: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    score: Mapped[float]
    reasons: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    decided_by: Mapped[str | None] = mapped_column(String(255))
    decided_at: Mapped[datetime | None]


class PartnerMergeRow(Base):
    """One merge, with everything needed to undo it exactly."""

    __tablename__ = "partner_merges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    survivor_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    loser_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    score: Mapped[float | None]
    snapshot: Mapped[dict[str, Any]]
    merged_by: Mapped[str] = mapped_column(String(255), default="auto")
    merged_at: Mapped[datetime] = mapped_column(default=now)
    undone_at: Mapped[datetime | None]


class RegistrationConflictRow(_Stamped, Base):
    __tablename__ = "registration_conflicts"
    __table_args__ = (UniqueConstraint("deal_id", "other_deal_id", "rule"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    deal_id: Mapped[str] = mapped_column(ForeignKey("deals.id"), index=True)
    other_deal_id: Mapped[str] = mapped_column(ForeignKey("deals.id"), index=True)
    rule: Mapped[str] = mapped_column(String(32))
    evidence: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    winner_deal_id: Mapped[str | None] = mapped_column(String(32))
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_by: Mapped[str | None] = mapped_column(String(255))
    resolved_at: Mapped[datetime | None]


class ApiUsageRow(Base):
    __tablename__ = "api_usage"
    __table_args__ = (Index("ix_api_usage_system_recorded", "system", "recorded_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    system: Mapped[str] = mapped_column(String(16))
    recorded_at: Mapped[datetime] = mapped_column(default=now)
    window: Mapped[str] = mapped_column(String(16), default="daily")
    used: Mapped[int | None] = mapped_column(Integer)
    limit: Mapped[int | None] = mapped_column(Integer)
    calls: Mapped[int] = mapped_column(Integer, default=0)


class AlertRow(Base):
    """Alert history: one row per firing, resolved when the condition clears; at most one firing per subject."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_rule_subject_state", "rule", "subject", "state"),
        Index("uq_alerts_firing", "rule", "subject", unique=True, sqlite_where=text("state = 'firing'"),
              postgresql_where=text("state = 'firing'")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rule: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16), default="firing")
    message: Mapped[str] = mapped_column(Text)
    value: Mapped[float | None]
    fired_at: Mapped[datetime] = mapped_column(default=now)
    resolved_at: Mapped[datetime | None]


class ReconcileRunRow(Base):
    """What `partnersync reconcile` found for a period: the alert on differences reads the latest one."""

    __tablename__ = "reconcile_runs"
    __table_args__ = (Index("ix_reconcile_runs_period_ran", "period", "ran_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    period: Mapped[str] = mapped_column(String(7))
    ran_at: Mapped[datetime] = mapped_column(default=now)
    differences: Mapped[int] = mapped_column(Integer, default=0)
    kinds: Mapped[dict[str, Any]] = mapped_column(default=dict)


class WebhookEventRow(Base):
    """Event ids already accepted, so a replayed webhook is refused."""

    __tablename__ = "webhook_events"
    __table_args__ = (UniqueConstraint("source", "event_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(default=now, index=True)
