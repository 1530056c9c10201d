"""The sync cycle per system x entity: pull a page, apply it, commit it with its outbox rows and cursor,
then push from the outbox and record the run.

A crash anywhere re-pulls at most one page and changes nothing twice: the page, its outbox rows and
the cursor are one transaction, and pushes are idempotent upserts by our external id.
"""

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from structlog.contextvars import bound_contextvars

from config import Settings
from connectors.base import ConnectorError, Cursor, Page, RateLimited
from sync import alerts, cursors, erp_payouts, logs
from sync.context import RuleContext
from sync.preview import Planned, planned
from sync.pull import apply_page
from sync.push import push
from sync.rules import run_rules
from sync.store import Store
from sync.store.tables import ApiUsageRow, SyncRunRow, new_id
from sync.systems import ENTITY_ORDER, System, build_all

log = structlog.get_logger("partnersync.sync")
Progress = Callable[[str, str, int], None]


@dataclass
class RunReport:
    system: str
    entity: str
    status: str = "success"
    records_in: int = 0
    records_out: int = 0
    created: int = 0
    echoes: int = 0
    deleted: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    api_calls: int = 0
    message: str | None = None
    run_id: str | None = None
    planned: list[Planned] = field(default_factory=list)


class Engine:
    """Runs streams inline (the CLI) or one at a time from worker actors."""

    def __init__(self, store: Store, settings: Settings, systems: dict[str, System] | None = None) -> None:
        self.store = store
        self.settings = settings
        logs.hide_secrets(settings)
        self.systems = systems if systems is not None else build_all(settings)

    def streams(self, system: str | None = None, entity: str | None = None) -> list[tuple[str, str]]:
        """(system, entity) pairs in sync order: partners before deals, so deals find their partner."""
        return [(s, e) for e in (*ENTITY_ORDER, "payout") for s, sys_ in self.systems.items()
                if e in sys_.maps and (system is None or s == system) and (entity is None or e == entity)]

    def cycle(self, system: str | None = None, entity: str | None = None, *, full: bool = False,
              dry_run: bool = False, progress: Progress | None = None) -> list[RunReport]:
        """Pull every stream, then push what the pulls queued: one full round of the hub; then the alerts."""
        reports = [self.pull(s, e, full=full, dry_run=dry_run, progress=progress)
                   for s, e in self.streams(system, entity)]
        if not dry_run:
            self.push_all(reports, entity)
            alerts.evaluate(self.store, self.settings)
        return reports

    def push_all(self, reports: list[RunReport] | None = None, entity: str | None = None) -> list[RunReport]:
        """Drain the outbox of every stream (partners first); counts go onto the pull's run when given."""
        by_stream = {(r.system, r.entity): r for r in reports or []}
        return [self.push(s, e, by_stream.get((s, e))) for s, e in self.streams(None, entity)]

    def pull(self, system: str, entity: str, *, full: bool = False, dry_run: bool = False,
             progress: Progress | None = None) -> RunReport:
        """One run of a stream; every log line in it (quarantine, rules, connectors) carries the run's ids."""
        run_id = new_id()
        with bound_contextvars(run_id=run_id, system=system, entity=entity):
            return self._pull(run_id, system, entity, full=full, dry_run=dry_run, progress=progress)

    def _pull(self, run_id: str, system: str, entity: str, *, full: bool, dry_run: bool,
              progress: Progress | None) -> RunReport:
        source = self.systems[system]
        report = RunReport(system, entity)
        started, calls = time.monotonic(), source.connector.usage.calls
        newest: datetime | None = None
        if entity == "payout":
            return self._payments(source, report, run_id, started, calls)
        with self.store.session() as session:
            stored = cursors.load(session, system, entity)
        cursor = Cursor() if full else cursors.start(stored, timedelta(seconds=self.settings.sync.lookback_seconds))
        read_at = deletes_at = None
        unanalyzed = 0
        try:
            for page in source.connector.pull(entity, cursor, full=full):
                with self.store.session() as session:
                    result = apply_page(session, self.settings, source, entity, page, self.systems, run_id)
                    ctx = RuleContext(session, self.settings, run_id, system)
                    run_rules(ctx, entity, result.changed)
                    if dry_run:
                        report.planned += planned(session, self.settings, self.systems, run_id)
                        session.rollback()
                    else:
                        cursors.save(session, system, entity, page.cursor)
                report.records_in += len(page.records)
                report.created += result.created
                report.echoes += result.echoes
                report.deleted += result.deleted
                report.errors.update(result.errors)
                newest = max(filter(None, (newest, result.newest)), default=None)
                read_at, deletes_at = page.cursor.read_at or read_at, page.cursor.deletes_at or deletes_at
                unanalyzed += len(page.records)
                if not dry_run and 0 < self.settings.sync.analyze_every_records <= unanalyzed:
                    self.store.analyze()
                    unanalyzed = 0
                log.info("page applied", records=len(page.records), changed=len(result.changed),
                         errors=dict(result.errors), last_id=page.cursor.last_id)
                if progress:
                    progress(system, entity, len(page.records))
            if not dry_run:
                with self.store.session() as session:
                    cursors.finish(session, system, entity, read_at, deletes_at)
        except RateLimited as exc:
            report.status, report.message = "rate_limited", str(exc)
            log.warning("rate limited: run ends cleanly, resumes from its cursor", retry_after=exc.retry_after)
        except ConnectorError as exc:
            report.status, report.message = "failed", str(exc)
            report.errors["connector"] += 1
            log.error("pull failed", error=str(exc))
        if not dry_run:
            self._record(report, run_id, started, source, calls, newest)
        return report

    def take_deletions(self, system: str, entity: str, external_ids: list[str]) -> RunReport:
        """Deletions a system announced itself (HubSpot's signed deletion webhooks), taken at once as a pull
        would take them: HubSpot's archived list, which a pull reads only every so often, is not needed."""
        run_id, source, report = new_id(), self.systems[system], RunReport(system, entity)
        started, calls = time.monotonic(), source.connector.usage.calls
        with bound_contextvars(run_id=run_id, system=system, entity=entity), self.store.session() as session:
            result = apply_page(session, self.settings, source, entity, Page([], external_ids, Cursor()), self.systems,
                                run_id)
            report.deleted = result.deleted
            log.info("deletions taken", announced=len(external_ids), deleted=result.deleted)
        self._record(report, run_id, started, source, calls, None)
        return report

    def push(self, system: str, entity: str, report: RunReport | None = None) -> RunReport:
        """Drain a stream's outbox; its counts and quarantined records go onto the pull's run when given."""
        report = report or RunReport(system, entity)
        with bound_contextvars(run_id=report.run_id or new_id(), system=system, entity=entity):
            return self._push(report)

    def _push(self, report: RunReport) -> RunReport:
        system, entity = report.system, report.entity
        target = self.systems[system]
        calls = target.connector.usage.calls
        try:
            if entity == "payout":
                sent = erp_payouts.send(self.store, self.settings, target.connector)
                report.records_out += len(sent.sent)
                report.errors["remote"] += len(sent.failed)
            else:
                pushed = push(self.store, self.settings, target, entity, report.run_id)
                report.records_out += pushed.sent
                report.errors.update(pushed.errors)
                if pushed.rate_limited:
                    report.status = "rate_limited"
        except ConnectorError as exc:
            report.status, report.message = "failed", str(exc)
            report.errors["connector"] += 1
            log.error("push failed", error=str(exc))
        report.api_calls += target.connector.usage.calls - calls
        log.info("pushed", records_out=report.records_out, errors=dict(report.errors), status=report.status,
                 api_calls=report.api_calls)
        self._update_run(report)
        return report

    def _payments(self, source: System, report: RunReport, run_id: str, started: float, calls: int) -> RunReport:
        """The ERP's payout stream: bills' payment status back to payouts, accruals and the CRMs."""
        try:
            report.records_in = erp_payouts.payments(self.store, self.settings, source.connector, datetime.now(UTC))
        except RateLimited as exc:
            report.status, report.message = "rate_limited", str(exc)
        except ConnectorError as exc:
            report.status, report.message = "failed", str(exc)
            report.errors["connector"] += 1
            log.error("payments pull failed", error=str(exc))
        self._record(report, run_id, started, source, calls, None)
        return report

    def _record(self, report: RunReport, run_id: str, started: float, source: System, calls: int,
                newest: datetime | None) -> None:
        report.api_calls = source.connector.usage.calls - calls
        finished = datetime.now(UTC)
        caught_up = report.status == "success"
        usage = source.connector.api_usage()
        with self.store.session() as session:
            session.add(run := SyncRunRow(
                id=run_id, system=report.system, entity=report.entity, status=report.status,
                started_at=datetime.fromtimestamp(time.time() - (time.monotonic() - started), UTC),
                finished_at=finished, records_in=report.records_in, errors=dict(report.errors),
                api_calls=report.api_calls, duration_ms=int((time.monotonic() - started) * 1000),
                newest_change_at=newest, message=logs.masked(report.message),
                lag_seconds=0 if caught_up or newest is None else int((finished - newest).total_seconds())))
            session.add(ApiUsageRow(system=report.system, used=usage.used, limit=usage.limit, window=usage.window,
                                    calls=report.api_calls))
        report.run_id = run_id
        log.info("run recorded", status=report.status, records_in=report.records_in, errors=dict(report.errors),
                 api_calls=report.api_calls, lag_seconds=run.lag_seconds, duration_ms=run.duration_ms,
                 message=report.message)

    def _update_run(self, report: RunReport) -> None:
        if report.run_id is None:
            return
        with self.store.session() as session:
            run = session.get(SyncRunRow, report.run_id)
            if run is not None:
                run.records_out = report.records_out
                run.api_calls = report.api_calls
                run.errors = dict(report.errors)
                if report.status != "success":
                    run.status, run.message = report.status, logs.masked(report.message)


def summary(reports: list[RunReport]) -> list[dict[str, Any]]:
    return [{"system": r.system, "entity": r.entity, "status": r.status, "in": r.records_in,
             "out": r.records_out, "created": r.created, "errors": dict(r.errors)} for r in reports]
