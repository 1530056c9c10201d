"""`partnersync demo`: the whole product against in-process sandboxes."""

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli.app import app, console, err
from cli.runs import StreamProgress, print_runs

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
        print_runs(result.runs, dry_run=False)
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
