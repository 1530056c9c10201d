"""The review queues a person works: partner duplicates (and CSV dedupe) and registration conflicts."""

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli.app import app, console, err, fail, settings, store

duplicates_app = typer.Typer(help="Partner duplicates: the review queue, merges and their undo.", no_args_is_help=True)
app.add_typer(duplicates_app, name="duplicates")
conflicts_app = typer.Typer(help="Deal-registration conflicts.", no_args_is_help=True)
app.add_typer(conflicts_app, name="conflicts")


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
