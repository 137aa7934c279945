"""Where the sun is: the NOAA solar-position approximation (equation of time, declination, hour angle).

Accurate to a fraction of a degree, which is plenty to put a simulated solar day's bell around the right
noon for a place and date.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime


def _fractional_year_and_hour(ts: float) -> tuple[float, float]:
    moment = datetime.fromtimestamp(ts, UTC)
    hour = moment.hour + moment.minute / 60 + (moment.second + moment.microsecond / 1e6) / 3600
    days_in_year = 366 if moment.year % 4 == 0 and (moment.year % 100 != 0 or moment.year % 400 == 0) else 365
    gamma = 2 * math.pi / days_in_year * (moment.timetuple().tm_yday - 1 + (hour - 12) / 24)
    return gamma, hour


def _equation_of_time_min(gamma: float) -> float:
    return 229.18 * (0.000075 + 0.001868 * math.cos(gamma) - 0.032077 * math.sin(gamma)
                     - 0.014615 * math.cos(2 * gamma) - 0.040849 * math.sin(2 * gamma))


def _declination_rad(gamma: float) -> float:
    return (0.006918 - 0.399912 * math.cos(gamma) + 0.070257 * math.sin(gamma)
            - 0.006758 * math.cos(2 * gamma) + 0.000907 * math.sin(2 * gamma)
            - 0.002697 * math.cos(3 * gamma) + 0.00148 * math.sin(3 * gamma))


def solar_elevation_deg(ts: float, lat: float, lon: float) -> float:
    """Sun elevation above the horizon in degrees at Unix time `ts` (negative at night)."""
    gamma, hour = _fractional_year_and_hour(ts)
    true_solar_min = hour * 60 + _equation_of_time_min(gamma) + 4 * lon
    hour_angle = math.radians(true_solar_min / 4 - 180)
    decl = _declination_rad(gamma)
    phi = math.radians(lat)
    cos_zenith = math.sin(phi) * math.sin(decl) + math.cos(phi) * math.cos(decl) * math.cos(hour_angle)
    return 90 - math.degrees(math.acos(max(-1.0, min(1.0, cos_zenith))))


def solar_noon(ts: float, lon: float) -> float:
    """Unix time of solar noon (sun highest) on the UTC day containing `ts`."""
    day_start = math.floor(ts / 86400) * 86400
    gamma, _ = _fractional_year_and_hour(day_start + 43200)
    return day_start + (720 - 4 * lon - _equation_of_time_min(gamma)) * 60
