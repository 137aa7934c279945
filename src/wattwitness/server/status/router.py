"""GET /api/v1/status/ and the lifespan hook that runs the internet probe while the app runs."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request

from wattwitness.server.deps import DatabaseDep, SettingsDep
from wattwitness.server.status.probe import InternetProbe, ProbeResult
from wattwitness.server.status.schemas import SystemStatus
from wattwitness.server.status.service import system_status

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/status", tags=["status"])


@router.get("/", response_model=SystemStatus,
            summary="Overall health: database, internet (probed by the server), device liveness, chain, security")
def status(request: Request, database: DatabaseDep, settings: SettingsDep) -> SystemStatus:
    probe: InternetProbe | None = getattr(request.app.state, "internet_probe", None)
    why_not = getattr(request.app.state, "internet_probe_error", "background probe not running")
    result = probe.result if probe is not None else ProbeResult(
        False, None, None, settings.internet_probe_target, why_not)
    return system_status(database, settings, result)


@asynccontextmanager
async def internet_probe_lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = app.state.settings
    try:
        probe = InternetProbe(settings.internet_probe_target, settings.internet_probe_interval_s,
                              settings.internet_probe_timeout_s)
    except ValueError as err:
        # A mistyped target must not keep the meter's server down; the status page shows the reason.
        log.error("internet probe disabled: %s (WATTWITNESS_INTERNET_PROBE_TARGET)", err)
        app.state.internet_probe_error = f"probe disabled: {err}"
        yield
        return
    app.state.internet_probe = probe
    probe.start()
    try:
        yield
    finally:
        await probe.stop()


def install(app: FastAPI) -> None:
    """The app factory's one line for this package: the route and the probe's lifespan hook."""
    app.include_router(router)
    app.state.lifespan_hooks.append(internet_probe_lifespan)
