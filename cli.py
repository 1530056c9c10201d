"""The `partnersync` command line. Exit 0 ok, 1 failure, 2 bad input or configuration."""

import json
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from config import ConfigError, Settings, load_settings
from sync.store import Store

app = typer.Typer(help="Sync partners, deal registrations and incentives between CRMs, ERP and the hub.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help="The program database.", no_args_is_help=True)
config_app = typer.Typer(help="Settings and program rules.", no_args_is_help=True)
duplicates_app = typer.Typer(help="Partner duplicates: the review queue, merges and their undo.", no_args_is_help=True)
conflicts_app = typer.Typer(help="Deal-registration conflicts.", no_args_is_help=True)
incentives_app = typer.Typer(help="Incentive accruals, approval and payouts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")
app.add_typer(duplicates_app, name="duplicates")
app.add_typer(conflicts_app, name="conflicts")
app.add_typer(incentives_app, name="incentives")
errors_app = typer.Typer(help="Quarantined records: list, show, edit and replay.", no_args_is_help=True)
app.add_typer(errors_app, name="errors")

# Piped output keeps whole lines (rich would otherwise cut tables to 80 columns).
console = Console(emoji=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, emoji=False, soft_wrap=True)
ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="YAML settings file (else PARTNERSYNC_CONFIG).")
]


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a user-facing error (never a traceback) and return the exit to raise."""
    err.print(f"[red]error:[/red] {message}", highlight=False, markup=True)
    return typer.Exit(code)


def settings(ctx: typer.Context) -> Settings:
    """Settings loaded once per invocation; bad settings exit 2 listing every problem."""
    obj: dict[str, Any] = ctx.ensure_object(dict)
    if "settings" not in obj:
        try:
            obj["settings"] = load_settings(obj.get("config"))
        except ConfigError as exc:
            for problem in exc.problems:
                err.print(problem, highlight=False, markup=False)
            raise typer.Exit(2) from None
    result: Settings = obj["settings"]
    return result


def store(ctx: typer.Context) -> Store:
    obj: dict[str, Any] = ctx.ensure_object(dict)
    if "store" not in obj:
        obj["store"] = Store(settings(ctx).database_url)
        ctx.call_on_close(obj["store"].dispose)
    result: Store = obj["store"]
    return result


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        console.print(f"partnersync {version('partnersync')}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: ConfigOption = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    ctx.ensure_object(dict)["config"] = config
    from sync.logs import configure

    configure(os.environ.get("PARTNERSYNC_LOG_LEVEL", "WARNING"))


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context, revision: str = "head") -> None:
    """Migrate the program database to the newest schema (creates it when new)."""
    from sync.store.migrate import upgrade

    url = settings(ctx).database_url
    try:
        upgrade(url, revision)
    except Exception as exc:  # the database's own message, never a traceback
        raise fail(f"database_url: cannot migrate: {exc}", 1) from None
    console.print(f"database at revision {revision}")


@config_app.command("check")
def config_check(
    ctx: typer.Context,
    file: Annotated[Path | None, typer.Argument(help="File to check (else --config or default).")] = None,
) -> None:
    """Validate settings and program rules; exit 2 listing every problem as file:line: field: reason."""
    if file is not None:
        if not file.exists():
            raise fail(f"{file}: no such file")
        ctx.ensure_object(dict)["config"] = file
    loaded = settings(ctx)
    rules = loaded.program
    console.print(
        f"ok: {len(rules.tiers)} tiers, {sum(len(r) for r in rules.commission.rates.values())} rates, "
        f"{len(rules.spiffs)} SPIFFs, {len(rules.rebates.bands)} rebate bands, "
        f"{sum(len(f) for f in rules.field_rules.values())} field rules"
    )


@app.command()
def status(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Per system x entity: last success, lag, records in/out, errors, quarantine, outbox backlog."""
    from sync.health import streams

    rows = streams(store(ctx))
    if as_json:
        typer.echo(json.dumps({"streams": [asdict(r) for r in rows]}, default=str, indent=2))
        return
    if not rows:
        console.print("no runs yet")
        return
    table = Table("system", "entity", "last run", "last success", "lag s", "in", "out", "errors",
                  "quarantined", "outbox")
    for r in rows:
        errors = ", ".join(f"{k}={v}" for k, v in r.errors.items()) or "-"
        table.add_row(r.system, r.entity, r.last_status or "-", str(r.last_success_at or "-"),
                      str(r.lag_seconds if r.lag_seconds is not None else "-"), str(r.records_in),
                      str(r.records_out), errors, str(r.quarantined), str(r.outbox_backlog))
    console.print(table)


@app.command()
def dedupe(
    ctx: typer.Context,
    input_csv: Annotated[Path, typer.Argument(metavar="INPUT.csv", help="Any CSV a spreadsheet writes.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write id,cluster_id.")],
    id_column: Annotated[str, typer.Option("--id-column", help="Column holding each row's id.")],
    field: Annotated[list[str], typer.Option("--field", help="FIELD=COLUMN; fields: name, website, email, phone, "
                                             "street, city, postal_code, country, tax_id.")],
    threshold: Annotated[float | None, typer.Option(
        "--threshold", min=0.0, max=1.0, help="Pair score that joins a cluster (default program.dedup.auto_merge; "
        "a name + country match alone scores about 0.82).")] = None,
) -> None:
    """Cluster the rows of a CSV by partner identity (no database needed); OUT has id,cluster_id."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from sync.dedupe_csv import CsvError, parse_fields
    from sync.dedupe_csv import dedupe as run_dedupe

    rules = settings(ctx).program.dedup
    cutoff = rules.auto_merge if threshold is None else threshold
    try:
        fields = parse_fields(field)
        if not input_csv.is_file():
            raise CsvError(f"{input_csv}: no such file")
        big = input_csv.stat().st_size > 1_000_000
        with Progress(TextColumn("reading rows"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err, disable=not big) as bar:
            task = bar.add_task("rows", total=None)
            result = run_dedupe(input_csv, out, id_column, fields, cutoff,
                                lambda n: bar.update(task, completed=n) if n % 1000 == 0 else None)
    except CsvError as exc:
        raise fail(str(exc)) from None
    console.print(f"{result.rows} rows, {result.clusters} clusters -> {out}")


@duplicates_app.command("list")
def duplicates_list(ctx: typer.Context, limit: int = 100) -> None:
    """Open pairs waiting for a person, best score first, with the reasons."""
    from sync.dedup import open_candidates

    with store(ctx).session() as s:
        table = Table("id", "partner a", "partner b", "score", "reasons")
        for c in open_candidates(s, limit):
            table.add_row(str(c.id), c.partner_a, c.partner_b, f"{c.score:.3f}",
                          ", ".join(f"{k}={v}" for k, v in c.reasons.items()))
        console.print(table)


@duplicates_app.command("merge")
def duplicates_merge(ctx: typer.Context, candidate: int, by: str = "cli") -> None:
    """Merge a queued pair (survivorship rules from program.dedup)."""
    from sync.dedup import accept
    from sync.merge import MergeError

    try:
        with store(ctx).session() as s:
            record = accept(s, settings(ctx).program.dedup, candidate, by)
            console.print(f"merge {record.id}: {record.loser_id} -> {record.survivor_id}")
    except MergeError as exc:
        raise fail(str(exc)) from None


@duplicates_app.command("unmerge")
def duplicates_unmerge(ctx: typer.Context, merge_id: int) -> None:
    """Undo a merge exactly (fields, links, deals, accruals); the CRM records are queued back."""
    from sync.dedup import undo
    from sync.merge import MergeError

    try:
        with store(ctx).session() as s:
            record = undo(s, merge_id)
            console.print(f"merge {record.id} undone: {record.loser_id} restored")
    except MergeError as exc:
        raise fail(str(exc)) from None


@duplicates_app.command("reject")
def duplicates_reject(ctx: typer.Context, candidate: int, by: str = "cli") -> None:
    """Mark a queued pair as different firms; it is never proposed again."""
    from sync.dedup import reject
    from sync.merge import MergeError

    try:
        with store(ctx).session() as s:
            reject(s, candidate, by)
            console.print(f"candidate {candidate} rejected")
    except MergeError as exc:
        raise fail(str(exc)) from None


@conflicts_app.command("list")
def conflicts_list(ctx: typer.Context, limit: int = 100) -> None:
    """Open registration conflicts, oldest first, with the rule and the evidence."""
    from sync.conflicts import open_conflicts

    with store(ctx).session() as s:
        table = Table("id", "deal", "other deal", "rule", "evidence")
        for c in open_conflicts(s, limit):
            table.add_row(str(c.id), c.deal_id, c.other_deal_id, c.rule,
                          ", ".join(f"{k}={v}" for k, v in c.evidence.items()))
        console.print(table)


@conflicts_app.command("resolve")
def conflicts_resolve(
    ctx: typer.Context,
    conflict: int,
    winner: Annotated[str, typer.Option("--winner", help="Hub id of the deal that keeps the registration.")],
    note: str = "manual",
    by: str = "cli",
) -> None:
    """Decide a conflict: the other deal is rejected, and both deals are written back to the CRMs."""
    from datetime import UTC, datetime

    from sync.conflicts import ConflictError, resolve

    try:
        with store(ctx).session() as s:
            resolve(s, conflict, winner, by, note, datetime.now(UTC))
    except ConflictError as exc:
        raise fail(str(exc)) from None
    console.print(f"conflict {conflict} resolved: {winner} wins")


@incentives_app.command("accrue")
def incentives_accrue(ctx: typer.Context) -> None:
    """Recompute every partner's tiers and accruals; books only differences (re-running is safe)."""
    from datetime import UTC, datetime

    from sync.incentives import accrue

    summary = accrue(store(ctx), settings(ctx), datetime.now(UTC))
    for problem in summary.quarantined:
        err.print(f"quarantined: {problem}", highlight=False, markup=False)
    c = summary.counts
    console.print(f"{summary.partners} partners, {summary.deals} won deals: {c.originals} new accruals, "
                  f"{c.adjustments} adjustments, {c.reversals} reversals, {len(summary.quarantined)} quarantined")


@incentives_app.command("approve")
def incentives_approve(
    ctx: typer.Context,
    by: Annotated[str, typer.Option("--by", help="Who approves (recorded on each accrual).")],
    ids: Annotated[list[str] | None, typer.Option("--id", help="Accrual id (repeatable).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Approve every pending accrual.")] = False,
) -> None:
    """Approve accruals waiting for a person (at or above program.approval.auto_approve_below)."""
    from datetime import UTC, datetime

    from sync.approvals import ApprovalError, approve

    if bool(ids) == all_:
        raise fail("give --id ID (repeatable) or --all")
    try:
        with store(ctx).session() as session:
            count = approve(session, settings(ctx).program, by=by, now=datetime.now(UTC), ids=ids or None)
    except ApprovalError as exc:
        raise fail(str(exc)) from None
    console.print(f"{count} accruals approved by {by.strip()}")


@incentives_app.command("mdf-claim")
def incentives_mdf_claim(
    ctx: typer.Context,
    partner: Annotated[str, typer.Option("--partner", help="Hub partner id.")],
    reference: Annotated[str, typer.Option("--reference", help="The claim's own reference (booked once).")],
    amount: Annotated[str, typer.Option("--amount", help="Claimed amount, e.g. 2500.00.")],
    currency: Annotated[str, typer.Option("--currency", help="ISO 4217 code.")],
    claimed_on: Annotated[str, typer.Option("--date", help="Claim date YYYY-MM-DD (its budget period).")],
) -> None:
    """Book a market development funds claim against the partner's tier budget for the period."""
    from datetime import UTC, date, datetime
    from decimal import Decimal, InvalidOperation

    from sync.mdf import MdfError, claim

    try:
        value, day = Decimal(amount), date.fromisoformat(claimed_on)
    except (InvalidOperation, ValueError):
        raise fail(f"mdf claim {reference}: --amount {amount!r} / --date {claimed_on!r}: not a number / date") from None
    try:
        with store(ctx).session() as session:
            row = claim(session, settings(ctx).program, partner_id=partner, reference=reference, amount=value,
                        currency=currency.upper(), claimed_on=day, now=datetime.now(UTC))
    except MdfError as exc:
        raise fail(str(exc)) from None
    console.print(f"mdf claim {reference}: accrual {row.id}, {row.amount} {row.currency}, {row.status}")


@incentives_app.command("payouts")
def incentives_payouts(
    ctx: typer.Context, period: Annotated[str, typer.Option("--period", help="Month YYYY-MM.")]
) -> None:
    """Group approved accruals into payouts per partner for the period and queue them to the ERP."""
    from datetime import UTC, datetime

    from sync.payouts import PayoutError, build

    try:
        with store(ctx).session() as session:
            report = build(session, settings(ctx), period, datetime.now(UTC))
    except PayoutError as exc:
        raise fail(str(exc)) from None
    for line in report.carried:
        console.print(line, highlight=False)
    for line in report.errors:
        err.print(f"error: {line}", highlight=False, markup=False)
    console.print(f"{len(report.created)} payouts created, {len(report.updated)} updated, "
                  f"{len(report.errors)} partners refused")
    if report.errors:
        raise typer.Exit(1)


@incentives_app.command("send")
def incentives_send(ctx: typer.Context) -> None:
    """Push queued payouts to the ERP as vendor bills (idempotent by the payout id); exit 1 if any is refused."""
    from connectors.base import ConnectorError
    from connectors.erp import erp_connector
    from sync.erp_payouts import send

    loaded = settings(ctx)
    try:
        report = send(store(ctx), loaded, erp_connector(loaded.erp))
    except ConnectorError as exc:
        raise fail(f"erp ({loaded.erp.kind}): {exc}", 1) from None
    for line in report.failed:
        err.print(f"refused: {line}", highlight=False, markup=False)
    console.print(f"{len(report.sent)} payouts sent to {loaded.erp.kind}, {len(report.failed)} refused")
    if report.failed:
        raise typer.Exit(1)


@incentives_app.command("payments")
def incentives_payments(ctx: typer.Context) -> None:
    """Read the ERP's bills and bring their payment status to payouts, accruals and the CRMs."""
    from datetime import UTC, datetime

    from connectors.base import ConnectorError
    from connectors.erp import erp_connector
    from sync.erp_payouts import payments

    loaded = settings(ctx)
    try:
        changed = payments(store(ctx), loaded, erp_connector(loaded.erp), datetime.now(UTC))
    except ConnectorError as exc:
        raise fail(f"erp ({loaded.erp.kind}): {exc}", 1) from None
    console.print(f"{changed} payouts changed status")


@app.command()
def reconcile(
    ctx: typer.Context,
    period: Annotated[str, typer.Option("--period", help="Month YYYY-MM.")],
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    bills: Annotated[Path | None, typer.Option("--bills", help="Match an ERP bill export (JSON list) instead of "
                                                                "reading the ERP.")] = None,
) -> None:
    """Match accruals -> payouts -> ERP bills -> payments; exit 1 when any difference is found."""
    from connectors.base import ConnectorError
    from connectors.erp import erp_connector
    from sync.erp_payouts import bills as erp_bills
    from sync.payouts import PayoutError
    from sync.reconcile import BillFileError, read_bills
    from sync.reconcile import reconcile as run

    if fmt not in {"table", "csv", "json"}:
        raise fail(f"--format: {fmt!r} is not table, csv or json")
    loaded = settings(ctx)
    try:
        found = read_bills(bills) if bills is not None else erp_bills(loaded, erp_connector(loaded.erp))
        with store(ctx).session() as session:
            diffs = run(session, period, found)
    except (PayoutError, BillFileError) as exc:
        raise fail(str(exc)) from None
    except ConnectorError as exc:
        raise fail(f"erp ({loaded.erp.kind}): cannot read bills: {exc}", 1) from None
    _print_differences(period, [d.as_dict() for d in diffs], fmt)
    if diffs:
        raise typer.Exit(1)


def _print_differences(period: str, rows: list[dict[str, str | None]], fmt: str) -> None:
    columns = ["kind", "payout_id", "partner_id", "hub", "erp", "detail"]
    if fmt == "json":
        typer.echo(json.dumps({"period": period, "clean": not rows, "differences": rows}, indent=2))
    elif fmt == "csv":
        import csv
        import sys

        writer = csv.DictWriter(sys.stdout, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    elif not rows:
        console.print(f"{period}: clean, no differences")
    else:
        table = Table(*columns, title=f"{period}: {len(rows)} differences")
        for row in rows:
            table.add_row(*(str(row[c] or "-") for c in columns))
        console.print(table)


@app.command("sync")
def sync_command(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="One cycle, then exit (else repeat every --every s).")] = False,
    system: Annotated[str | None, typer.Option(help="Only this system (salesforce, hubspot, netsuite, odoo).")] = None,
    entity: Annotated[str | None, typer.Option(help="Only this entity (partner, deal, payout).")] = None,
    full: Annotated[bool, typer.Option("--full", help="Re-read everything, not just changes.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; write nothing.")] = False,
    every: Annotated[int, typer.Option(help="Seconds between cycles without --once.")] = 300,
) -> None:
    """Run sync cycles inline (no broker): pull every stream, apply rules, push from the outbox."""
    import time

    from rich.progress import Progress

    from sync.engine import Engine

    engine = Engine(store(ctx), settings(ctx))
    if system is not None and system not in engine.systems:
        raise fail(f"--system: {system!r} is not configured (configured: {', '.join(engine.systems) or 'none'})")
    while True:
        with Progress(console=err, transient=True) as progress:
            reports = engine.cycle(system, entity, full=full, dry_run=dry_run, progress=StreamProgress(progress))
        _print_runs(reports, dry_run)
        if once or dry_run:
            failed = any(r.status == "failed" for r in reports)
            raise typer.Exit(1 if failed else 0)
        time.sleep(every)


class StreamProgress:
    """One rich progress bar per stream, advanced by the engine after each page."""

    def __init__(self, progress: Any) -> None:
        self.progress = progress
        self.tasks: dict[tuple[str, str], Any] = {}

    def __call__(self, system: str, entity: str, count: int) -> None:
        key = (system, entity)
        if key not in self.tasks:
            self.tasks[key] = self.progress.add_task(f"{system} {entity}", total=None)
        self.progress.advance(self.tasks[key], count)


def _print_runs(reports: list[Any], dry_run: bool) -> None:
    table = Table("system", "entity", "status", "in", "out", "created", "echoes", "deleted", "errors")
    for r in reports:
        table.add_row(r.system, r.entity, r.status, str(r.records_in), str(r.records_out), str(r.created),
                      str(r.echoes), str(r.deleted), ", ".join(f"{k}={v}" for k, v in r.errors.items() if v) or "-")
    console.print(table)
    if dry_run:
        plans = [p for r in reports for p in r.planned]
        if not plans:
            console.print("dry run: nothing would change")
        for p in plans:
            console.print(f"{p.system} {p.entity} {p.hub_id}: {p.action}")
            for name, (old, new) in p.changes.items():
                console.print(f"    {name}: {old!r} -> {new!r}", highlight=False)


@app.command()
def history(
    ctx: typer.Context,
    entity: Annotated[str, typer.Argument(help="partner or deal")],
    record_id: Annotated[str, typer.Argument(help="Hub id or any system's id of the record.")],
    field: Annotated[str | None, typer.Option(help="Only this field.")] = None,
) -> None:
    """Field-level lineage: who changed what, where, when."""
    from sync.lineage import history as lineage

    rows = lineage(store(ctx), entity, record_id, field)
    if not rows:
        raise fail(f"no history for {entity} {record_id}", 1)
    table = Table("when", "field", "old", "new", "source", "rule", "run")
    for r in rows:
        table.add_row(str(r.changed_at), r.field, r.old_value or "", r.new_value or "", r.source_system,
                      r.rule or "", (r.run_id or "")[:8])
    console.print(table)


@errors_app.command("list")
def errors_list(ctx: typer.Context, status: str = "open", limit: int = 200) -> None:
    """Quarantined records with the reason (newest first)."""
    from sync.quarantine import listing

    with store(ctx).session() as session:
        rows = listing(session, None if status == "all" else status, limit)
        table = Table("id", "system", "entity", "dir", "record", "category", "field", "attempts", "message")
        for r in rows:
            table.add_row(str(r.id), r.system, r.entity, r.direction, r.external_id or r.hub_id or "",
                          r.category, r.field or "", str(r.attempts), r.message)
    console.print(table if rows else "no quarantined records")


@errors_app.command("show")
def errors_show(ctx: typer.Context, error_id: int) -> None:
    """One quarantined record: reason and raw payload (JSON)."""
    from sync.store.tables import SyncErrorRow

    with store(ctx).session() as session:
        row = session.get(SyncErrorRow, error_id)
        if row is None:
            raise fail(f"no quarantined record {error_id}")
        typer.echo(json.dumps({"id": row.id, "system": row.system, "entity": row.entity,
                               "direction": row.direction, "status": row.status, "category": row.category,
                               "field": row.field, "message": row.message, "attempts": row.attempts,
                               "external_id": row.external_id, "hub_id": row.hub_id,
                               "raw_payload": row.raw_payload}, indent=2, default=str))


@errors_app.command("edit")
def errors_edit(ctx: typer.Context, error_id: int,
                payload: Annotated[Path, typer.Option("--payload", help="JSON file with the corrected record.")]
                ) -> None:
    """Replace a quarantined record's payload; `errors retry ID` then replays it."""
    from sync.replay import edit

    try:
        data = json.loads(payload.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise fail(f"{payload}: not a JSON record: {exc}") from None
    if not isinstance(data, dict):
        raise fail(f"{payload}: expected a JSON object")
    try:
        edit(store(ctx), error_id, data)
    except LookupError as exc:
        raise fail(str(exc)) from None
    console.print(f"record {error_id} edited; replay it with: partnersync errors retry {error_id}")


@errors_app.command("retry")
def errors_retry(ctx: typer.Context, error_id: Annotated[int | None, typer.Argument()] = None,
                 all_: Annotated[bool, typer.Option("--all", help="Every open record.")] = False) -> None:
    """Replay quarantined records with today's config and mapping (inbound) or push them again (outbound)."""
    from sync.engine import Engine
    from sync.replay import retry

    if error_id is None and not all_:
        raise fail("give an error ID or --all")
    engine = Engine(store(ctx), settings(ctx))
    report = retry(engine.store, engine.settings, engine.systems, None if all_ else [error_id or 0])
    engine.push_all()
    console.print(f"fixed {len(report.fixed)}, still failing {len(report.failing)}, "
                  f"pushed again {len(report.requeued)}")
    raise typer.Exit(1 if report.failing else 0)


DEMO_DB = Path("partnersync-demo.db")


@app.command()
def demo(
    records: Annotated[int, typer.Option("--records", min=50, help="How many partners + deals to seed.")] = 2000,
    serve: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the dashboard after the summary.")] = True,
    port: Annotated[int, typer.Option(help="Dashboard port.")] = 8000,
    database: Annotated[Path, typer.Option(help="The demo's own SQLite hub (recreated).")] = DEMO_DB,
) -> None:
    """Start every sandbox in-process, seed realistic data, sync everything, run the rules, show the result."""
    from rich.progress import Progress

    from sandbox.demo import Demo

    run = Demo(database.resolve(), records)
    try:
        loaded = run.start()
        seeded = run.seed()
        console.print("seeded: " + ", ".join(f"{k} {v}" for k, v in seeded.items()))
        with Progress(console=err, transient=True) as progress:
            result = run.run(StreamProgress(progress))
        _print_runs(result.runs, dry_run=False)
        facts = Table("what", "result", title="partnersync demo")
        for key, value in result.facts.items():
            facts.add_row(key, str(value))
        console.print(facts)
        if serve:
            import uvicorn

            from web.app import create_app

            assert run.store is not None
            console.print(f"dashboard: http://127.0.0.1:{port}/  (Ctrl-C to stop)")
            uvicorn.run(create_app(loaded, run.store), host="127.0.0.1", port=port, log_level="warning")
    finally:
        run.stop()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
