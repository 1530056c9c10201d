"""Incentives to payouts to the ERP, and reconciliation back."""

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli.app import app, console, err, fail, settings, store

incentives_app = typer.Typer(help="Incentive accruals, approval and payouts.", no_args_is_help=True)
app.add_typer(incentives_app, name="incentives")


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
    """Match accruals -> payouts -> ERP bills -> payments; exit 1 when any difference is found.

    The result is kept: differences raise the `reconciliation` alert until a clean re-run."""
    from datetime import UTC, datetime

    from connectors.base import ConnectorError
    from connectors.erp import erp_connector
    from sync.erp_payouts import bills as erp_bills
    from sync.payouts import PayoutError
    from sync.reconcile import BillFileError, check, read_bills

    if fmt not in {"table", "csv", "json"}:
        raise fail(f"--format: {fmt!r} is not table, csv or json")
    loaded = settings(ctx)
    try:
        found = read_bills(bills) if bills is not None else erp_bills(loaded, erp_connector(loaded.erp))
        with store(ctx).session() as session:
            diffs = check(session, period, found, datetime.now(UTC))
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
