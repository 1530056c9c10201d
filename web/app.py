"""The Starlette application: each concern adds its routes from its own module."""

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from config import Settings
from sync.store import Store
from web import webhooks


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def create_app(settings: Settings, store: Store) -> Starlette:
    """The app for `partnersync serve`, the demo and tests; state carries settings and the store."""
    routes = [Route("/healthz", healthz), *webhooks.routes]
    app = Starlette(routes=routes)
    app.state.settings = settings
    app.state.store = store
    return app
