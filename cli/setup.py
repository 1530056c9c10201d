"""Set-up and health: the program database, settings check, stream status."""

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli.app import app, console, fail, settings, store

db_app = typer.Typer(help="The program database.", no_args_is_help=True)
app.add_typer(db_app, name="db")
config_app = typer.Typer(help="Settings and program rules.", no_args_is_help=True)
app.add_typer(config_app, name="config")


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
