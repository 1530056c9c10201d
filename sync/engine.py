"""The sync cycle, per system x entity: pull -> map/validate -> link -> field rules -> rules hook ->
commit page + outbox + cursor in one transaction -> push from the outbox -> record the run.

A crash re-pulls at most the uncommitted page (the cursor moves with it) and repeats at most one push
batch (idempotent upserts by external id). A `RateLimited` from a system ends its stream cleanly.
"""

import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from config import Settings
from connectors.base import ConnectorError, RateLimited
from sync import cursors, erp_payouts, push, quarantine
from sync.context import RuleContext
from sync.pull import PageApplier
from sync.rules import run_rules
from sync.store import Store
from sync.store.tables import SyncRunRow, new_id
from sync.systems import Stream

PUSH_BATCH = 200


@dataclass
class StreamReport:
    """One stream's run: what `sync` prints and `sync_runs` keeps."""

    system: str
    entity: str
    run_id: str = field(default_factory=new_id)
    mode: str = "incremental"
    status: str = "success"
    records_in: int = 0
    records_out: int = 0
    echoes: int = 0
    pushes_skipped: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    api_calls: int = 0
    newest: datetime | None = None
    message: str | None = None
    retry_after: float | None = None
    changes: list[push.Change] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))


PageCallback = Callable[[StreamReport, int], None]


class Engine:
    """Runs cycles over `streams`; every configured stream is a write-back target of its entity."""

    def __init__(self, store: Store, settings: Settings, streams: list[Stream]) -> None:
        self.store, self.settings, self.streams = store, settings, streams
        self._preview: Session | None = None

    def targets(self, entity: str) -> list[str]:
        return sorted({s.system for s in self.streams if s.entity == entity})

    @contextmanager
    def _session(self) -> Iterator[Session]:
        """A page's transaction; in a dry run every page shares one session that is rolled back."""
        if self._preview is not None:
            yield self._preview
            self._preview.flush()
            return
        with self.store.session() as session:
            yield session

    def cycle(self, *, system: str | None = None, entity: str | None = None, full: bool = False,
              dry_run: bool = False, on_page: PageCallback | None = None) -> list[StreamReport]:
        """Pull every selected stream of an entity, then push them all, entity by entity."""
        selected = [s for s in self.streams if (system is None or s.system == system)
                    and (entity is None or s.entity == entity)]
        if dry_run:
            with self.store.engine.connect() as conn, Session(bind=conn) as preview:
                self._preview = preview
                try:
                    return self._cycle(selected, full, on_page, record=False)
                finally:
                    self._preview = None
                    preview.rollback()
        return self._cycle(selected, full, on_page, record=True)

    def _cycle(self, selected: list[Stream], full: bool, on_page: PageCallback | None,
               record: bool) -> list[StreamReport]:
        """Every pull first (partners before deals), then every push: what a deal's rules change on a
        partner goes out in the same cycle, and deals find their partners already in each system."""
        mode = "full" if full else "incremental"
        batch = [(s, StreamReport(s.system, s.entity, mode=mode)) for s in selected]
        for stream, report in batch:
            if stream.entity == "payout":
                self.payouts(stream, report, dry_run=not record)
            else:
                self.pull(stream, report, full=full, on_page=on_page)
        for stream, report in batch:
            if stream.entity != "payout" and report.status == "success":
                self.push(stream, report, apply=record)
        for stream, report in batch:
            report.api_calls = stream.connector.usage.calls - report.api_calls
            if record:
                self.record(report)
        return [report for _, report in batch]

    def run_stream(self, stream: Stream, *, full: bool = False, pull: bool = True) -> StreamReport:
        """Pull and push one stream, or only push its outbox (what the worker's actors do)."""
        report = StreamReport(stream.system, stream.entity, mode="full" if full else "incremental" if pull else "push")
        report.api_calls = stream.connector.usage.calls
        if stream.entity == "payout":
            self.payouts(stream, report, dry_run=False)
        else:
            if pull:
                self.pull(stream, report, full=full)
            if report.status == "success":
                self.push(stream, report)
        report.api_calls = stream.connector.usage.calls - report.api_calls
        self.record(report)
        return report

    def pull(self, stream: Stream, report: StreamReport, *, full: bool = False,
             on_page: PageCallback | None = None) -> None:
        report.api_calls = stream.connector.usage.calls
        targets = [t for t in self.targets(stream.entity) if t != stream.system]
        policy = self.settings.program.delete_policy.get(stream.entity, "archive")
        with self._session() as session:
            start = cursors.load(session, stream.system, stream.entity)
        try:
            for page in stream.connector.pull(stream.entity, start, full=full):
                with self._session() as session:
                    applier = PageApplier(session, self.settings, stream.fmap, targets, report.run_id)
                    for raw in page.records:
                        applier.apply(raw)
                    changed = applier.result.changed + applier.delete(page.deleted, policy)
                    quarantine.resolve(session, stream.system, stream.entity, applier.result.resolved)
                    ctx = RuleContext(session, self.settings, report.run_id, stream.system)
                    run_rules(ctx, stream.entity, list(dict.fromkeys(changed)))
                    cursors.advance(session, stream.system, stream.entity, page.cursor,
                                    full_at=datetime.now(UTC) if full else None)
                self._count(report, applier)
                if on_page is not None:
                    on_page(report, len(page.records) + len(page.deleted))
        except RateLimited as exc:
            report.status, report.message = "rate_limited", f"{exc} (resumes from the cursor)"
            report.retry_after = exc.retry_after
        except ConnectorError as exc:
            report.status, report.message = "failed", f"{type(exc).__name__}: {exc}"

    @staticmethod
    def _count(report: StreamReport, applier: PageApplier) -> None:
        result = applier.result
        report.records_in += result.records_in
        report.echoes += result.echoes
        report.errors.update(result.errors)
        if result.newest is not None and (report.newest is None or result.newest > report.newest):
            report.newest = result.newest

    def push(self, stream: Stream, report: StreamReport, *, apply: bool = True) -> None:
        """Drain this stream's outbox, one locked batch per transaction."""
        seen: set[int] = set()
        try:
            while True:
                with self._session() as session:
                    rows = [r for r in push.pending(session, stream.system, stream.entity, PUSH_BATCH)
                            if r.id not in seen]
                    if not rows:
                        return
                    seen.update(r.id for r in rows)
                    pusher = push.Pusher(session, self.settings, stream.connector, stream.fmap, report.run_id)
                    result = pusher.push(rows, apply=apply)
                report.records_out += result.records_out
                report.pushes_skipped += result.skipped
                report.errors.update(result.errors)
                report.changes += result.changes
        except RateLimited as exc:
            report.status, report.message = "rate_limited", f"{exc} (the outbox keeps the rest)"
            report.retry_after = exc.retry_after
        except ConnectorError as exc:
            report.status, report.message = "failed", f"{type(exc).__name__}: {exc}"

    def payouts(self, stream: Stream, report: StreamReport, *, dry_run: bool) -> None:
        """ERP payouts: send approved payouts as bills, then read payment status back."""
        report.api_calls = stream.connector.usage.calls
        if dry_run:
            return
        try:
            sent = erp_payouts.send(self.store, self.settings, stream.connector)
            report.records_out += len(sent.sent)
            report.errors.update({"rejected": len(sent.failed)} if sent.failed else {})
            report.records_in += erp_payouts.payments(self.store, self.settings, stream.connector,
                                                      datetime.now(UTC))
        except RateLimited as exc:
            report.status, report.message = "rate_limited", str(exc)
        except ConnectorError as exc:
            report.status, report.message = "failed", f"{type(exc).__name__}: {exc}"

    def record(self, report: StreamReport) -> None:
        """The `sync_runs` row of a finished stream run."""
        finished = datetime.now(UTC)
        if report.status == "success" and any(report.errors.values()):
            report.status = "partial"
        lag = int((finished - report.newest).total_seconds()) if report.newest else 0
        with self.store.session() as session:
            session.add(SyncRunRow(
                id=report.run_id, system=report.system, entity=report.entity, mode=report.mode,
                status="success" if report.status == "partial" else report.status, started_at=report.started_at,
                finished_at=finished, records_in=report.records_in, records_out=report.records_out,
                errors=dict(report.errors), api_calls=report.api_calls,
                duration_ms=int((time.monotonic() - report.started) * 1000), newest_change_at=report.newest,
                lag_seconds=lag, message=report.message))
