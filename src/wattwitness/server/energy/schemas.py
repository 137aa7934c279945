"""Wire shapes of the chart endpoint (docs/api.md): Wh floats at the edge, exact mWh integers beside them."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ChartPoint(BaseModel):
    label: str = Field(description="bucket start in the installation's local time")
    value: float = Field(description="energy produced in the bucket, Wh (mWh precision)")
    value_mwh: int = Field(description="the same energy as an exact integer, mWh")
    timestamp: int = Field(description="bucket start, Unix seconds")
    end: int = Field(description="bucket end (exclusive), Unix seconds")
    estimated: bool = Field(description="interpolated across a stretch without readings")


class EnergyChart(BaseModel):
    data_points: list[ChartPoint]
    time_frame: str
    total_energy: float = Field(description="Wh; the data points add up to it exactly (see total_energy_mwh)")
    total_energy_mwh: int
    period_start: int
    period_end: int
    timezone: str

    model_config = {
        "json_schema_extra": {
            "examples": [{
                "data_points": [
                    {"label": "12:00", "value": 1234.567, "value_mwh": 1234567, "timestamp": 1782734400,
                     "end": 1782738000, "estimated": False},
                ],
                "time_frame": "day", "total_energy": 1234.567, "total_energy_mwh": 1234567,
                "period_start": 1782684000, "period_end": 1782770400, "timezone": "Europe/Berlin",
            }],
        },
    }
