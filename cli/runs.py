"""Sync runs inline, lineage, and the quarantine (edit and replay)."""

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from cli.app import app, console, err, fail, settings, store

errors_app = typer.Typer(help="Quarantined records: list, show, edit and replay.", no_args_is_help=True)
app.add_typer(errors_app, name="errors")


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
        print_runs(reports, dry_run)
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


def print_runs(reports: list[Any], dry_run: bool) -> None:
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
