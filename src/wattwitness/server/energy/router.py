"""GET /api/v1/readings/{installation_id}/chart: energy per calendar bucket in the installation's time zone."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from wattwitness.server.deps import InstallationId, SessionDep, SettingsDep
from wattwitness.server.energy.calendar import TimeFrame
from wattwitness.server.energy.schemas import EnergyChart
from wattwitness.server.energy.service import energy_chart

router = APIRouter(prefix="/api/v1/readings", tags=["energy"])


@router.get(
    "/{installation_id}/chart",
    response_model=EnergyChart,
    summary="Energy per bucket of a calendar period, from the meter's counter",
    responses={404: {"description": "no such installation"}, 422: {"description": "bad time_frame or at"}},
)
def chart(
    installation_id: InstallationId,
    session: SessionDep,
    settings: SettingsDep,
    time_frame: Annotated[TimeFrame, Query(description="hour, day, week, month or year")] = TimeFrame.DAY,
    at: Annotated[int | None, Query(description="an instant in the period, Unix seconds; default now")] = None,
) -> Response:
    chart = energy_chart(session, installation_id, time_frame.value, at, settings.reading_interval_s)
    # Serialized by pydantic directly: returning the model would make FastAPI validate it a second time
    # (in another thread-pool hop) and encode it through jsonable_encoder, ~10 % of a chart's CPU.
    return Response(chart.model_dump_json(), media_type="application/json")
