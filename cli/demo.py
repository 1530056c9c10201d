"""`partnersync demo`: the whole product against in-process sandboxes."""

import os
import socket
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from cli.app import app, console, err, fail
from cli.runs import StreamProgress
from config import Settings

if TYPE_CHECKING:
    from sandbox.demo import Demo, DemoResult

DEMO_DB = Path("partnersync-demo.db")
NAMES = {"salesforce": "Salesforce", "hubspot": "HubSpot", "netsuite": "NetSuite", "odoo": "Odoo"}


@app.command()
def demo(
    records: Annotated[int, typer.Option("--records", min=50, help="How many partners + deals to seed.")] = 2000,
    serve: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the dashboard after the summary.")] = True,
    port: Annotated[int, typer.Option(help="Dashboard port.")] = 8000,
    database: Annotated[Path, typer.Option(help="The demo's own SQLite hub (recreated).")] = DEMO_DB,
) -> None:
    """Start Salesforce, HubSpot and NetSuite sandboxes, seed messy data, sync everything, show the result."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from sandbox.demo import Demo
    from sync.logs import configure

    if serve and not _port_free(port):
        raise fail(f"--port: 127.0.0.1:{port} is in use; pick another port or run with --no-serve")
    # the summary tells what the warnings would (rate limits, quarantine, alerts); PARTNERSYNC_LOG_LEVEL shows them
    configure(os.environ.get("PARTNERSYNC_LOG_LEVEL", "ERROR"))
    run = Demo(database.resolve(), records)
    try:
        loaded = run.start()
        seeded = run.seed()
        console.print("seeded: " + "; ".join(
            f"{NAMES[system]} " + ", ".join(f"{n} {kind}" for kind, n in counts.items())
            for system, counts in (("salesforce", seeded.salesforce), ("hubspot", seeded.hubspot))))
        console.print("planted: " + ", ".join(f"{n} {what}" for what, n in seeded.planted.items())
                      + "; a rate limit on each CRM", highlight=False)
        columns = (TextColumn("{task.description:<20}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=err, transient=True) as progress:
            result = run.run(StreamProgress(progress))
        summary(run, result)
        if serve:
            _serve(run, loaded, port)
    finally:
        run.stop()


def summary(run: "Demo", result: "DemoResult") -> None:
    """What moved where, then what the hub made of it (every figure read back from the hub database)."""
    from sync import alerts
    from sync import summary as figures
    from sync.systems import configured

    assert run.store is not None and run.settings is not None
    systems = configured(run.settings)
    with run.store.session() as session:
        streams = figures.streams(session)
        facts = figures.facts(session, run.settings.program.currency, systems)
    new, echoes = Counter[tuple[str, str]](), Counter[tuple[str, str]]()
    for r in result.runs:
        new[(r.system, r.entity)] += r.created
        echoes[(r.system, r.entity)] += r.echoes
    moved = Table("system", "entity", "runs", "rate-limited", "pulled in", "new in hub", "own echoes", "pushed out",
                  "quarantined", title="what moved where (every run)")
    for s in streams:
        key = (s.system, s.entity)
        moved.add_row(NAMES.get(s.system, s.system), s.entity, str(s.runs), str(s.rate_limited), str(s.records_in),
                      str(new[key]), str(echoes[key]), str(s.records_out), str(s.quarantined))
    console.print(moved)
    count = len(result.differences)
    facts["reconciliation"] = f"{count} difference{'' if count == 1 else 's'} for {', '.join(result.periods) or '-'}"
    firing = alerts.firing(run.store)
    facts["alerts firing"] = f"{len(firing)} ({', '.join(a.rule for a in firing)})" if firing else "0"
    table = Table("what", "result", title="partnersync demo")
    for what, value in facts.items():
        table.add_row(what, value)
    console.print(table)
    for d in result.differences:
        console.print(f"reconciliation difference: {d.kind}: {d.detail}: hub {d.hub}, ERP {d.erp}", highlight=False)
    for a in firing:
        console.print(f"alert firing: {a.rule}: {a.message}", highlight=False)


def _port_free(port: int) -> bool:
    """Checked before the run, so a busy port is said at once, not after a minute of syncing."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: a closing socket is no owner
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _serve(run: "Demo", loaded: Settings, port: int) -> None:
    import uvicorn

    from web.app import create_app

    assert run.store is not None and run.pulls is not None
    app_ = create_app(loaded, run.store, on_hubspot_events=run.pulls, systems=run.pulls.engine.systems)
    run.deliver_webhooks(f"http://127.0.0.1:{port}/webhooks/hubspot")
    config = run.write_config(run.database.with_suffix(".yaml"))
    console.print(f"HubSpot sandbox: {run.hubspot.url} sends each change as a signed webhook to "
                  f"http://127.0.0.1:{port}/webhooks/hubspot, pulled at once (docs/demo.md)", highlight=False)
    console.print(f"the sandboxes stay up meanwhile; in another shell: export PARTNERSYNC_CONFIG={config}\n"
                  "  then: partnersync status | partnersync sync --once | dramatiq worker | periodiq worker",
                  highlight=False)
    console.print(f"dashboard: http://127.0.0.1:{port}/  (Ctrl-C to stop)")
    uvicorn.run(app_, host="127.0.0.1", port=port, log_level="warning")
