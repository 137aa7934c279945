"""Calendar periods and chart buckets in an installation's local time, as UTC instants.

A chart shows the calendar period (hour, day, ISO week, month, year) of the installation's IANA time
zone that contains an instant `at`. Everything here is pure: it returns the period's UTC bounds and the
UTC edges of its buckets, with labels in local time. Buckets follow the wall clock, so a day has 23 or
25 hourly buckets on DST change days, and half-hour zones (Asia/Kolkata) put their hour edges at :30 UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Every UTC offset in the tz database is a whole number of quarter hours, so a local hour starts at one
# of these UTC steps; stepping by it finds every local hour edge, including around DST changes.
_QUARTER_HOUR = timedelta(minutes=15)
_FIVE_MINUTES = timedelta(minutes=5)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class TimeFrame(StrEnum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


class CalendarError(ValueError):
    """A time zone, time frame or instant that no chart can be drawn for."""


@dataclass(frozen=True, slots=True)
class Bucket:
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive
    label: str  # local time, for people


@dataclass(frozen=True, slots=True)
class Period:
    time_frame: TimeFrame
    timezone: str
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive
    buckets: tuple[Bucket, ...]

    @property
    def edges(self) -> list[datetime]:
        """start, every inner edge, end: one more than there are buckets."""
        return [bucket.start for bucket in self.buckets] + [self.end]


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise CalendarError(f"unknown time zone {name!r}") from err


def parse_time_frame(text: str) -> TimeFrame:
    try:
        return TimeFrame(text)
    except ValueError as err:
        choices = ", ".join(frame.value for frame in TimeFrame)
        raise CalendarError(f"time_frame must be one of {choices}, got {text!r}") from err


def instant(unix_s: int) -> datetime:
    """A Unix second as an aware UTC datetime; CalendarError outside the years 1970..9998."""
    if not 0 <= unix_s < 253_370_764_800:  # 9999-01-01: a year view must still have a next year
        raise CalendarError(f"at must be a Unix time in seconds between 1970 and 9998, got {unix_s}")
    return datetime.fromtimestamp(unix_s, UTC)


def _wall(tz: ZoneInfo, day: date) -> datetime:
    """Local midnight of `day` as UTC. A midnight that does not exist (DST at 00:00) maps to the
    transition instant, and a repeated one to its first occurrence: zoneinfo's fold=0 does both."""
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def period(timezone: str, time_frame: TimeFrame, at: datetime) -> Period:
    """The calendar period of `time_frame` in `timezone` that contains `at`, with its buckets."""
    tz = zone(timezone)
    try:
        return _period(tz, timezone, time_frame, at)
    except (ValueError, OverflowError) as err:  # a period reaching past the year 9999
        raise CalendarError(f"no {time_frame.value} period around {at.isoformat()} in {timezone}") from err


def _period(tz: ZoneInfo, timezone: str, time_frame: TimeFrame, at: datetime) -> Period:
    local = at.astimezone(tz)
    if time_frame is TimeFrame.HOUR:
        buckets = _hour_buckets(tz, local)
    elif time_frame is TimeFrame.DAY:
        buckets = _day_buckets(tz, local.date())
    elif time_frame is TimeFrame.WEEK:
        monday = local.date() - timedelta(days=local.weekday())
        days = [monday + timedelta(days=i) for i in range(8)]
        buckets = _day_list(tz, days, lambda d: f"{_WEEKDAYS[d.weekday()]} {d.day}")
    elif time_frame is TimeFrame.MONTH:
        first = local.date().replace(day=1)
        following = _add_months(first, 1)
        days = [first + timedelta(days=i) for i in range((following - first).days + 1)]
        buckets = _day_list(tz, days, lambda d: str(d.day))
    else:
        january = date(local.year, 1, 1)
        months = [_add_months(january, i) for i in range(13)]
        buckets = _day_list(tz, months, lambda d: _MONTHS[d.month - 1])
    return Period(time_frame, timezone, buckets[0].start, buckets[-1].end, tuple(buckets))


def _add_months(first_of_month: date, months: int) -> date:
    index = first_of_month.year * 12 + first_of_month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _day_list(tz: ZoneInfo, starts: list[date], label: Callable[[date], str]) -> list[Bucket]:
    """Buckets from local midnight of each date to local midnight of the next one (the last is the end)."""
    edges = [_wall(tz, day) for day in starts]
    return [Bucket(edges[i], edges[i + 1], label(starts[i])) for i in range(len(starts) - 1)]


def _hour_buckets(tz: ZoneInfo, local: datetime) -> list[Bucket]:
    # replace() keeps `fold`, so the second 02:00 of a fall-back night stays the second one.
    start = local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    # Where DST moves clocks by 30 min (Australia/Lord_Howe) a local hour can last 90 real minutes;
    # the chart's hour is 60 minutes, so the period is the real hour after that start holding `at`.
    start += ((local.astimezone(UTC) - start) // timedelta(hours=1)) * timedelta(hours=1)
    buckets = []
    for i in range(12):
        edge = start + i * _FIVE_MINUTES
        buckets.append(Bucket(edge, edge + _FIVE_MINUTES, edge.astimezone(tz).strftime("%H:%M")))
    return buckets


def _day_buckets(tz: ZoneInfo, day: date) -> list[Bucket]:
    start = _wall(tz, day)
    end = _wall(tz, day + timedelta(days=1))
    edges = [start]
    cursor = start + _QUARTER_HOUR
    while cursor < end:
        local = cursor.astimezone(tz)
        if local.minute == 0 and local.second == 0:
            edges.append(cursor)
        cursor += _QUARTER_HOUR
    edges.append(end)
    labels = [edge.astimezone(tz).strftime("%H:00") for edge in edges[:-1]]
    # A fall-back night shows one local hour twice; the zone abbreviation tells the two apart.
    repeated = {label for label in labels if labels.count(label) > 1}
    buckets = []
    for i, label in enumerate(labels):
        if label in repeated:
            label = f"{label} {edges[i].astimezone(tz).tzname()}"
        buckets.append(Bucket(edges[i], edges[i + 1], label))
    return buckets
