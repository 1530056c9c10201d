"""Set-up and health: the program database, settings check, stream status."""

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from cli.app import app, console, fail, settings, store

if TYPE_CHECKING:
    from sync.health import StreamStatus

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
    """Every stream red/amber/green, API usage, dead letters and the alerts firing (exit 0: informational).

    Per system x entity: last success, lag, records in/out, errors by category, quarantined, outbox backlog.
    Alerts are evaluated first, so what is listed holds now."""
    from sync.alerts import evaluate, firing
    from sync.health import streams

    hub, loaded = store(ctx), settings(ctx)
    evaluate(hub, loaded)
    rows, alerts = streams(hub, loaded), firing(hub)
    if as_json:
        typer.echo(json.dumps({"streams": [asdict(r) for r in rows], "alerts": [asdict(a) for a in alerts]},
                              default=str, indent=2))
        return
    if not rows:
        console.print("no runs yet")
    else:
        console.print(_streams_table(rows))
    if not alerts:
        console.print("alerts firing: none")
        return
    console.print(f"alerts firing: {len(alerts)}")
    for alert in alerts:
        since = f"{alert.fired_at:%Y-%m-%d %H:%M}"
        console.print(f"  [red]{alert.rule}[/red] {escape(alert.message)} (since {since} UTC)", highlight=False)


COLOURS = {"green": "green", "amber": "yellow", "red": "red"}


def _streams_table(rows: "list[StreamStatus]") -> Table:
    table = Table("state", "system", "entity", "last run", "last success", "lag", "in", "out", "errors",
                  "quarantined", "outbox", "API used/limit", "dead letters", "why")
    for r in rows:
        errors = ", ".join(f"{k}={v}" for k, v in r.errors.items()) or "-"
        api = f"{r.api_used}/{r.api_limit} ({r.api_percent}%)" if r.api_percent is not None else "-"
        table.add_row(f"[{COLOURS[r.state]}]{r.state}[/]", r.system, r.entity, r.last_status or "-",
                      f"{r.last_success_at:%Y-%m-%d %H:%M}" if r.last_success_at else "never",
                      _age(r.lag_seconds), str(r.records_in), str(r.records_out), errors, str(r.quarantined),
                      str(r.outbox_backlog), api, str(r.dead_letters), "; ".join(r.reasons) or "-")
    return table


def _age(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
