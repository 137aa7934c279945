"""The FastAPI app factory: settings, database, error handling, routers, dashboard.

`create_app(settings)` builds a complete app; it does not migrate (that is `wattwitness serve`'s and the
tests' job, before serving). Domain packages add their routers in the marked place below.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.middleware.gzip import GZipMiddleware

from wattwitness import logs
from wattwitness.server import health, metrics
from wattwitness.server.anchoring.router import router as anchoring_router
from wattwitness.server.dashboard import dashboard_router
from wattwitness.server.db.session import Database
from wattwitness.server.energy.router import router as energy_router
from wattwitness.server.errors import document_error_bodies, install_error_handlers
from wattwitness.server.installations.router import enrollment_router
from wattwitness.server.installations.router import router as installations_router
from wattwitness.server.integrity.router import router as integrity_router
from wattwitness.server.limits import BodySizeLimitMiddleware
from wattwitness.server.live.router import router as live_router
from wattwitness.server.ratelimit import ReadingsRateLimitMiddleware
from wattwitness.server.readings import verification
from wattwitness.server.readings.router import router as readings_router
from wattwitness.server.settings import Settings
from wattwitness.server.status import router as status_routes

# Background work that lives as long as the app (internet probe, chain listener): each is an async
# context manager factory taking the app; registered on `app.state.lifespan_hooks`.
LifespanHook = Callable[[FastAPI], AbstractAsyncContextManager[None]]

DESCRIPTION = """Signed solar production readings, verified end to end (WW2, P-256).

Readings need no token: the device signature is the authentication. Admin calls take
`Authorization: Bearer <WATTWITNESS_ADMIN_TOKEN>`. Every error is `{"error", "detail"}`."""


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with AsyncExitStack() as stack:
        if app.state.settings.verification_pool:
            verification.start()
        if app.state.settings.background_tasks:
            for hook in app.state.lifespan_hooks:
                await stack.enter_async_context(hook(app))
        try:
            yield
        finally:
            if app.state.settings.verification_pool:
                verification.shutdown()
            app.state.db.dispose()


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or Settings()
    settings.check_startup()
    logs.register_secret(settings.admin_token)
    app = FastAPI(title="WattWitness", version="1.0", description=DESCRIPTION, lifespan=_lifespan,
                  docs_url="/docs", redoc_url=None)
    app.state.settings = settings
    app.state.db = database or Database(settings.database_url_resolved, echo=settings.sql_echo)
    app.state.lifespan_hooks = []

    install_error_handlers(app)
    app.add_middleware(BodySizeLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(ReadingsRateLimitMiddleware)  # 429 for clients flooding rejected readings (reliability)
    # The dashboard's bundle is 355 kB raw, 117 kB gzipped; Starlette leaves text/event-stream uncompressed,
    # so the live stream is not buffered.
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    logs.install(app)

    app.include_router(health.router)
    app.include_router(installations_router)
    app.include_router(enrollment_router)
    app.include_router(readings_router)

    # Domain routers
    app.include_router(energy_router)  # GET /api/v1/readings/{id}/chart (energy)
    app.include_router(integrity_router)  # GET /api/v1/readings/{id}/integrity (energy)
    app.include_router(live_router)  # GET /api/v1/readings/{id}/stream, server-sent events (energy)
    status_routes.install(app)  # GET /api/v1/status/ and the background internet probe (energy)
    app.include_router(anchoring_router)  # /api/v1/anchoring/next, /api/v1/anchors, /api/v1/readings/proof/{id} (chain)
    metrics.install(app)  # GET /metrics, HTTP request metrics, database state at scrape time (ops)
    # (energy/chart, integrity, status, live stream, anchoring: one include line each, above this line)

    # Last: the dashboard's catch-all route must not shadow any API route.
    app.include_router(dashboard_router(settings.static_dir))
    _document_errors(app)
    return app


def _document_errors(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_error_bodies(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
