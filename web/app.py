"""The Starlette application: each concern adds its routes from its own module."""

from collections.abc import Callable
from functools import cache
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from config import Settings
from sync import probes
from sync.logs import hide_secrets
from sync.store import Store, StoreError
from sync.systems import System, build_all
from sync.webhooks import Event
from web import card, dashboard, metrics, webhooks


async def healthz(request: Request) -> JSONResponse:
    """200 when the database answers and, when the app runs with a broker, Redis too; else 503 naming
    what failed. Without a broker (no `redis_url` given) Redis is reported "not used" and not checked."""
    state = request.app.state
    checks = {"database": await run_in_threadpool(probes.database, state.store)}
    if state.redis_url is not None:
        checks["redis"] = await run_in_threadpool(probes.redis, state.redis_url)
    failed = sorted(name for name, problem in checks.items() if problem)
    body: dict[str, Any] = {"status": "failing" if failed else "ok",
                            **{name: problem or "ok" for name, problem in checks.items()}}
    if state.redis_url is None:
        body["redis"] = "not used"
    if failed:
        body["failed"] = failed
    return JSONResponse(body, status_code=503 if failed else 200)


async def hub_unavailable(request: Request, exc: Exception) -> PlainTextResponse:
    """A database error mid-request: say so (503, the error type only), never a traceback or a URL."""
    return PlainTextResponse(f"the hub database is unavailable ({type(exc).__name__}); /healthz says more\n",
                             status_code=503)


def create_app(settings: Settings, store: Store,
               on_hubspot_events: Callable[[list[Event]], Any] | None = None, *,
               redis_url: str | None = None, systems: dict[str, System] | None = None) -> Starlette:
    """The app for `partnersync serve`, the demo and tests; state carries settings and the store.

    `on_hubspot_events([(entity, object id, change), ...])` is what the HubSpot webhook calls to have
    deletions taken and those streams pulled soon (`worker.on_hubspot_events` enqueues both on the broker).
    `redis_url` is the Redis that broker uses (checked by /healthz). `systems` are the engine's systems the
    dashboard replays quarantined records with (default: built from settings when first needed)."""
    routes = [Route("/healthz", healthz), *webhooks.routes, *metrics.routes, *card.routes, *dashboard.routes,
              Mount("/static", StaticFiles(packages=[("web", "static")]), name="static")]
    hide_secrets(settings)
    app = Starlette(routes=routes, exception_handlers={StoreError: hub_unavailable})
    app.state.settings = settings
    app.state.store = store
    app.state.redis_url = redis_url
    app.state.systems = cache(lambda: systems if systems is not None else build_all(settings))
    if on_hubspot_events is not None:
        app.state.on_hubspot_events = on_hubspot_events
    return app
