"""The Starlette application: each concern adds its routes from its own module."""

from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from config import Settings
from sync.store import Store


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def create_app(settings: Settings, store: Store,
               request_pull: Callable[[str, str], None] | None = None) -> Starlette:
    """The app for `partnersync serve`, the demo and tests; state carries settings and the store.

    `request_pull(system, entity)` is what a webhook calls to have a stream pulled soon (the worker's
    `worker.request_pull` enqueues it on the broker)."""
    routes = [Route("/healthz", healthz)]
    app = Starlette(routes=routes)
    app.state.settings = settings
    app.state.store = store
    app.state.request_pull = request_pull
    return app
