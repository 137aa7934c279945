"""A chart: the calendar period's buckets (calendar.py) filled with energy from the counter (counter.py)."""

from __future__ import annotations

from datetime import datetime

from wattwitness.server.energy.calendar import Period, TimeFrame, period
from wattwitness.server.energy.counter import CounterLookup, bucket_energies
from wattwitness.server.energy.schemas import ChartPoint, EnergyChart


def wh(mwh: int) -> float:
    """mWh as Wh for the wire; exact to the mWh because a float holds 3 decimals of such values."""
    return mwh / 1000


def build_chart(lookup: CounterLookup, timezone: str, time_frame: TimeFrame, at: datetime,
                max_gap_s: int) -> EnergyChart:
    calendar_period: Period = period(timezone, time_frame, at)
    energies = bucket_energies(lookup, calendar_period.edges, max_gap_s)
    points = [
        ChartPoint(label=bucket.label, value=wh(energy.energy_mwh), value_mwh=energy.energy_mwh,
                   timestamp=energy.start, end=energy.end, estimated=energy.estimated)
        for bucket, energy in zip(calendar_period.buckets, energies, strict=True)
    ]
    total_mwh = sum(energy.energy_mwh for energy in energies)
    return EnergyChart(
        data_points=points, time_frame=time_frame.value, total_energy=wh(total_mwh), total_energy_mwh=total_mwh,
        period_start=int(calendar_period.start.timestamp()), period_end=int(calendar_period.end.timestamp()),
        timezone=timezone,
    )
