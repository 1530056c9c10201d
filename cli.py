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
duplicates_app = typer.Typer(help="Partner duplicates: the review queue, merges and their undo.", no_args_is_help=True)
conflicts_app = typer.Typer(help="Deal-registration conflicts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")
app.add_typer(duplicates_app, name="duplicates")
app.add_typer(conflicts_app, name="conflicts")

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


@app.command()
def dedupe(
    ctx: typer.Context,
    input_csv: Annotated[Path, typer.Argument(metavar="INPUT.csv", help="Any CSV a spreadsheet writes.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write id,cluster_id.")],
    id_column: Annotated[str, typer.Option("--id-column", help="Column holding each row's id.")],
    field: Annotated[list[str], typer.Option("--field", help="FIELD=COLUMN; fields: name, website, email, phone, "
                                             "street, city, postal_code, country, tax_id.")],
) -> None:
    """Cluster the rows of a CSV by partner identity (no database needed); OUT has id,cluster_id."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from sync.dedupe_csv import CsvError, parse_fields
    from sync.dedupe_csv import dedupe as run_dedupe

    rules = settings(ctx).program.dedup
    try:
        fields = parse_fields(field)
        if not input_csv.is_file():
            raise CsvError(f"{input_csv}: no such file")
        big = input_csv.stat().st_size > 1_000_000
        with Progress(TextColumn("reading rows"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err, disable=not big) as bar:
            task = bar.add_task("rows", total=None)
            result = run_dedupe(input_csv, out, id_column, fields, rules,
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
    from sync.merge import MergeError, unmerge

    try:
        with store(ctx).session() as s:
            record = unmerge(s, merge_id)
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


def main() -> None:
    app()


if __name__ == "__main__":
    main()
