"""The root typer app and what every command shares: console, settings, store, user-facing errors."""

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from config import ConfigError, Settings, load_settings
from sync.logs import hide_secrets
from sync.store import Store

app = typer.Typer(help="Sync partners, deal registrations and incentives between CRMs, ERP and the hub.",
                  no_args_is_help=True, pretty_exceptions_enable=False)

# Piped output keeps whole lines (rich would otherwise cut tables to 80 columns).
console = Console(emoji=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)
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
            hide_secrets(obj["settings"])
        except ConfigError as exc:
            for problem in exc.problems:
                err.print(problem, highlight=False, markup=False)
            raise typer.Exit(2) from None
    result: Settings = obj["settings"]
    return result


def store(ctx: typer.Context) -> Store:
    obj: dict[str, Any] = ctx.ensure_object(dict)
    if "store" not in obj:
        from sync.store.migrate import behind

        hub = Store(settings(ctx).database_url)
        ctx.call_on_close(hub.dispose)
        problem = behind(hub)
        if problem is not None:
            raise fail(f"database_url: {problem}")
        obj["store"] = hub
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
    from sync.logs import configure

    configure(os.environ.get("PARTNERSYNC_LOG_LEVEL", "WARNING"))
