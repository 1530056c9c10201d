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
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")

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


def main() -> None:
    app()


if __name__ == "__main__":
    main()
