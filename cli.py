"""The `partnersync` command line. Exit 0 ok, 1 failure, 2 bad input or configuration."""

import json
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
incentives_app = typer.Typer(help="Incentive accruals, approval and payouts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")
app.add_typer(incentives_app, name="incentives")

console = Console(emoji=False, soft_wrap=True)
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


errors_app = typer.Typer(help="Quarantined records: list, show, edit and replay.", no_args_is_help=True)
app.add_typer(errors_app, name="errors")


def engine(ctx: typer.Context, *, system: str | None = None) -> Any:
    """The sync engine over every configured system; exit 2 when none is (or `system` is not)."""
    from sync.engine import Engine
    from sync.systems import build, configured_systems

    loaded = settings(ctx)
    names = configured_systems(loaded)
    if not names:
        raise fail("no system configured: set salesforce.instance_url, hubspot.access_token or erp.base_url")
    if system is not None and system not in names:
        raise fail(f"--system: {system!r} is not configured (configured: {', '.join(names)})")
    try:
        return Engine(store(ctx), loaded, build(loaded))
    except (ValueError, ImportError) as exc:
        raise fail(f"cannot build connectors: {exc}") from None


@app.command()
def sync(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="One cycle (the default; the worker loops).")] = True,
    system: Annotated[str | None, typer.Option("--system", help="Only this system.")] = None,
    entity: Annotated[str | None, typer.Option("--entity", help="Only this entity.")] = None,
    full: Annotated[bool, typer.Option("--full", help="Re-read everything (reconcile).")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; write nothing.")] = False,
) -> None:
    """Run one sync cycle inline (no broker): pull, merge, push, per system x entity."""
    from rich.progress import Progress, SpinnerColumn, TextColumn

    if entity is not None and entity not in ("partner", "deal", "payout"):
        raise fail(f"--entity: unknown entity {entity!r}; expected partner, deal or payout")
    eng = engine(ctx, system=system)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed} records"),
                  console=err, transient=True) as progress:
        tasks: dict[str, Any] = {}

        def on_page(report: Any, count: int) -> None:
            key = f"{report.system} {report.entity}"
            if key not in tasks:
                tasks[key] = progress.add_task(key, total=None)
            progress.advance(tasks[key], count)

        reports = eng.cycle(system=system, entity=entity, full=full, dry_run=dry_run, on_page=on_page)
    table = Table("system", "entity", "status", "in", "out", "echoes", "errors", "api calls")
    for r in reports:
        errors = ", ".join(f"{k}={v}" for k, v in r.errors.items()) or "-"
        table.add_row(r.system, r.entity, r.status, str(r.records_in), str(r.records_out), str(r.echoes), errors,
                      str(r.api_calls))
    console.print(table)
    for r in reports:
        if r.message:
            console.print(f"{r.system} {r.entity}: {r.message}", highlight=False, markup=False)
    if dry_run:
        for change in (c for r in reports for c in r.changes):
            target = change.external_id or "(new)"
            console.print(f"{change.system} {change.entity} {change.operation} {target} hub={change.hub_id}",
                          highlight=False, markup=False)
            for name, old, new in change.fields:
                console.print(f"    {name}: {old!r} -> {new!r}", highlight=False, markup=False)
    if any(r.status == "failed" for r in reports):
        raise typer.Exit(1)


@errors_app.command("list")
def errors_list(ctx: typer.Context, all_: Annotated[bool, typer.Option("--all", help="Resolved too.")] = False,
                ) -> None:
    """Quarantined records with their reason."""
    from sync.quarantine import listing

    rows = listing(store(ctx), include_resolved=all_)
    if not rows:
        console.print("no quarantined records")
        return
    table = Table("id", "system", "entity", "dir", "record", "category", "field", "attempts", "status", "message")
    for r in rows:
        table.add_row(str(r.id), r.system, r.entity, r.direction, r.external_id or r.hub_id or "-", r.category,
                      r.field or "-", str(r.attempts), r.status, r.message)
    console.print(table)


@errors_app.command("show")
def errors_show(ctx: typer.Context, error_id: int) -> None:
    """One quarantined record: reason and raw payload (JSON)."""
    from sync.quarantine import listing

    found = [r for r in listing(store(ctx), include_resolved=True) if r.id == error_id]
    if not found:
        raise fail(f"no quarantined record with id {error_id}")
    r = found[0]
    typer.echo(json.dumps({"id": r.id, "system": r.system, "entity": r.entity, "direction": r.direction,
                           "external_id": r.external_id, "hub_id": r.hub_id, "category": r.category,
                           "field": r.field, "message": r.message, "attempts": r.attempts, "status": r.status,
                           "raw_payload": r.raw_payload}, indent=2, default=str))


def _payload(path: Path) -> dict[str, Any]:
    try:
        payload = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise fail(f"{path}: not a JSON object: {exc}") from None
    if not isinstance(payload, dict):
        raise fail(f"{path}: not a JSON object")
    return payload


@errors_app.command("edit")
def errors_edit(ctx: typer.Context, error_id: int,
                payload: Annotated[Path, typer.Option("--payload", help="JSON file: the corrected record.")]) -> None:
    """Replace a quarantined record's raw payload (then `errors retry ID`)."""
    from sync.replay import ReplayError, edit

    try:
        edit(engine(ctx), error_id, _payload(payload))
    except ReplayError as exc:
        raise fail(str(exc)) from None
    console.print(f"payload of {error_id} replaced; replay with `partnersync errors retry {error_id}`")


@errors_app.command("retry")
def errors_retry(
    ctx: typer.Context,
    error_id: Annotated[int | None, typer.Argument(help="Quarantined record id.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every open quarantined record.")] = False,
    payload: Annotated[Path | None, typer.Option("--payload", help="Replay with this JSON payload.")] = None,
) -> None:
    """Replay through the current config and mapping; exit 1 when some fail again."""
    from sync.replay import ReplayError, edit, retry

    if (error_id is None) == (not all_):
        raise fail("give one quarantined record id or --all")
    eng = engine(ctx)
    try:
        if payload is not None:
            if error_id is None:
                raise fail("--payload needs a record id")
            edit(eng, error_id, _payload(payload))
        done = retry(eng, None if all_ else [error_id] if error_id is not None else None)
    except ReplayError as exc:
        raise fail(str(exc)) from None
    console.print(f"resolved {len(done.resolved)}, still failing {len(done.failed)}")
    for key, message in done.failed.items():
        console.print(f"  {key}: {message}", highlight=False, markup=False)
    if done.failed:
        raise typer.Exit(1)


@app.command()
def history(
    ctx: typer.Context,
    entity: Annotated[str, typer.Argument(help="partner or deal")],
    record_id: Annotated[str, typer.Argument(help="Hub id or any system's id of the record.")],
    field: Annotated[str | None, typer.Option("--field", help="Only this unified field.")] = None,
) -> None:
    """Field-level lineage: who changed this, where, when, by which rule."""
    from sync.history import history as lineage

    if entity not in ("partner", "deal"):
        raise fail(f"entity: unknown {entity!r}; expected partner or deal")
    changes = lineage(store(ctx), entity, record_id, field)
    if not changes:
        console.print(f"no changes recorded for {entity} {record_id}")
        return
    table = Table("at", "field", "old", "new", "source", "source modified", "rule", "run")
    for c in changes:
        table.add_row(str(c.changed_at), c.field, c.old or "", c.new or "", c.source,
                      str(c.source_modified_at or "-"), c.rule or "-", c.run_id or "-")
    console.print(table)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
