"""The web side: `serve` (dashboard, /healthz, /metrics, HubSpot webhooks, CRM card) and signed card links."""

import ipaddress
import os
from typing import Annotated, Any

import typer

from cli.app import app, console, err, fail, settings, store


def _loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Interface to bind (default web.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default web.port).")] = None,
) -> None:
    """Serve the ops dashboard, /healthz, /metrics, the HubSpot webhook and the CRM card.

    Without web.username and web.password the dashboard is open, so only a loopback host is served.
    With Redis reachable, HubSpot webhooks enqueue pulls on the worker broker; without, the schedule
    picks the changes up."""
    import uvicorn

    from sync import probes
    from web.app import create_app

    loaded = settings(ctx)
    host = host or loaded.web.host
    port = loaded.web.port if port is None else port
    if not _loopback(host) and (loaded.web.username is None or loaded.web.password is None):
        raise fail(f"--host {host}: set web.username and web.password to serve the dashboard beyond this machine")
    hub = store(ctx)
    on_events: Any = None
    redis_url: str | None = None
    if probes.redis(loaded.redis_url) is None:
        config = ctx.ensure_object(dict).get("config")
        if config:
            os.environ.setdefault("PARTNERSYNC_CONFIG", str(config))  # the worker module loads settings itself
        import worker

        on_events, redis_url = worker.on_hubspot_events, loaded.redis_url
    else:
        err.print("redis is unreachable: webhooks are accepted, their pulls wait for the next scheduled sync",
                  highlight=False)
    console.print(f"partnersync dashboard on http://{host}:{port}/", highlight=False)
    uvicorn.run(create_app(loaded, hub, on_events, redis_url=redis_url), host=host, port=port,
                log_level="warning")


@app.command("card-link")
def card_link(
    ctx: typer.Context,
    sobject: Annotated[str, typer.Argument(metavar="OBJECT", help="Salesforce object: Account or Opportunity "
                                                                  "(salesforce.account_object / opportunity_object).")],
    external_id: Annotated[str, typer.Argument(metavar="ID", help="The Salesforce record id.")],
    hours: Annotated[int, typer.Option(min=1, max=24 * 366, help="How long the link works.")] = 24,
) -> None:
    """Print a signed link to the Salesforce CRM card of one record (web.public_url, else web.host:port)."""
    from datetime import UTC, datetime, timedelta

    from web.card import link

    try:
        typer.echo(link(settings(ctx), sobject, external_id, timedelta(hours=hours), datetime.now(UTC)))
    except ValueError as exc:
        raise fail(str(exc)) from None
