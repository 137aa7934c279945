"""Calendar periods and bucket edges in local time (pure: no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import available_timezones

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from wattwitness.server.energy.calendar import CalendarError, TimeFrame, instant, parse_time_frame, period


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def assert_contiguous(p) -> None:
    assert p.buckets[0].start == p.start and p.buckets[-1].end == p.end
    for left, right in pairwise(p.buckets):
        assert left.end == right.start and left.start < left.end


def test_berlin_spring_forward_day_has_23_hourly_buckets() -> None:
    p = period("Europe/Berlin", TimeFrame.DAY, utc(2026, 3, 29, 12))
    assert len(p.buckets) == 23
    assert p.start == utc(2026, 3, 28, 23) and p.end == utc(2026, 3, 29, 22)
    labels = [b.label for b in p.buckets]
    assert "02:00" not in labels and labels[:3] == ["00:00", "01:00", "03:00"]
    assert all(b.end - b.start == timedelta(hours=1) for b in p.buckets)
    assert_contiguous(p)


def test_berlin_fall_back_day_has_25_buckets_and_tells_the_two_2am_apart() -> None:
    p = period("Europe/Berlin", TimeFrame.DAY, utc(2026, 10, 25, 12))
    assert len(p.buckets) == 25
    assert p.start == utc(2026, 10, 24, 22) and p.end == utc(2026, 10, 25, 23)
    assert [b.label for b in p.buckets[1:5]] == ["01:00", "02:00 CEST", "02:00 CET", "03:00"]
    assert_contiguous(p)


def test_kolkata_hours_start_at_half_past_utc() -> None:
    p = period("Asia/Kolkata", TimeFrame.DAY, utc(2026, 6, 1, 20))  # 01:30 local on 2 June
    assert len(p.buckets) == 24
    assert p.start == utc(2026, 6, 1, 18, 30) and p.end == utc(2026, 6, 2, 18, 30)
    assert all(b.start.minute == 30 for b in p.buckets)
    hour = period("Asia/Kolkata", TimeFrame.HOUR, utc(2026, 6, 1, 12, 10))
    assert hour.start == utc(2026, 6, 1, 11, 30) and hour.end == utc(2026, 6, 1, 12, 30)
    assert [b.label for b in hour.buckets][:3] == ["17:00", "17:05", "17:10"]
    assert len(hour.buckets) == 12
    assert_contiguous(hour)


def test_hour_in_the_repeated_fall_back_hour_is_the_second_one() -> None:
    # 01:30 UTC on 25 Oct 2026 is 02:30 CET, the second pass through 02:xx in Berlin.
    p = period("Europe/Berlin", TimeFrame.HOUR, utc(2026, 10, 25, 1, 30))
    assert p.start == utc(2026, 10, 25, 1) and p.end == utc(2026, 10, 25, 2)
    first = period("Europe/Berlin", TimeFrame.HOUR, utc(2026, 10, 25, 0, 30))
    assert first.start == utc(2026, 10, 25, 0)


def test_iso_week_month_and_year() -> None:
    week = period("Europe/Berlin", TimeFrame.WEEK, utc(2026, 3, 29, 12))  # a Sunday
    assert [b.label for b in week.buckets] == ["Mon 23", "Tue 24", "Wed 25", "Thu 26", "Fri 27", "Sat 28", "Sun 29"]
    assert week.buckets[-1].end - week.buckets[-1].start == timedelta(hours=23)  # the DST Sunday
    assert_contiguous(week)
    month = period("UTC", TimeFrame.MONTH, utc(2028, 2, 10))
    assert len(month.buckets) == 29 and month.end == utc(2028, 3, 1)
    year = period("Europe/Berlin", TimeFrame.YEAR, utc(2026, 12, 31, 23, 30))  # already 2027 in Berlin
    assert year.start == utc(2026, 12, 31, 23) and year.end == utc(2027, 12, 31, 23)
    assert year.buckets[0].label == "Jan" and len(year.buckets) == 12
    assert_contiguous(year)


def test_a_midnight_that_does_not_exist_starts_the_day_at_the_transition() -> None:
    # Chile moves clocks from 00:00 to 01:00 on 6 Sep 2026: the day starts at 01:00 local.
    p = period("America/Santiago", TimeFrame.DAY, utc(2026, 9, 6, 15))
    assert len(p.buckets) == 23 and p.buckets[0].label == "01:00"
    assert_contiguous(p)


def test_bad_input_is_a_calendar_error() -> None:
    with pytest.raises(CalendarError):
        parse_time_frame("fortnight")
    with pytest.raises(CalendarError):
        instant(-1)
    with pytest.raises(CalendarError):
        period("Mars/Olympus_Mons", TimeFrame.DAY, utc(2026, 1, 1))
    with pytest.raises(CalendarError):  # already 9999 in Kolkata: its year would end in 10000
        period("Asia/Kolkata", TimeFrame.YEAR, instant(253_370_764_800 - 3600))


@settings(max_examples=150, deadline=None)
@example("Australia/Lord_Howe", 1775314800, TimeFrame.HOUR)  # 01:30 the second time: a 90-minute hour
@example("Australia/Lord_Howe", 1791043200, TimeFrame.DAY)  # 4 Oct 2026, 02:00 -> 02:30: a 23.5-hour day
@given(st.sampled_from(sorted(available_timezones())), st.integers(0, 2_100_000_000),
       st.sampled_from(list(TimeFrame)))
def test_every_zone_gives_contiguous_buckets_around_at(timezone: str, at_s: int, frame: TimeFrame) -> None:
    at = instant(at_s)
    p = period(timezone, frame, at)
    assert_contiguous(p)
    assert p.start <= at < p.end
    expected = {TimeFrame.HOUR: 12, TimeFrame.WEEK: 7, TimeFrame.YEAR: 12}.get(frame)
    if expected is not None:
        assert len(p.buckets) == expected
    elif frame is TimeFrame.MONTH:
        assert 28 <= len(p.buckets) <= 31
    else:
        assert 22 <= len(p.buckets) <= 26
