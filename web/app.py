"""The Starlette application: each concern adds its routes from its own module."""

from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from config import Settings
from sync.store import Store
from web import metrics, webhooks


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def create_app(settings: Settings, store: Store,
               on_hubspot_events: Callable[[list[tuple[str, str]]], Any] | None = None) -> Starlette:
    """The app for `partnersync serve`, the demo and tests; state carries settings and the store.

    `on_hubspot_events([(entity, object id), ...])` is what the HubSpot webhook calls to have those
    streams pulled soon (`worker.on_hubspot_events` enqueues the pulls on the broker)."""
    routes = [Route("/healthz", healthz), *webhooks.routes, *metrics.routes]
    app = Starlette(routes=routes)
    app.state.settings = settings
    app.state.store = store
    if on_hubspot_events is not None:
        app.state.on_hubspot_events = on_hubspot_events
    return app
