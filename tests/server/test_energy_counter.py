"""Energy from the counter: interpolation at bucket edges, exact telescoping sums (pure: no database)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from wattwitness.server.energy.counter import (
    Bracket,
    CounterLookup,
    CounterPoint,
    EdgeValue,
    ListLookup,
    bucket_energies,
    cumulative_at,
)


def value_at(lookup: CounterLookup, ts: int, max_gap_s: int) -> EdgeValue:
    return cumulative_at(ts, lookup.brackets([ts])[0], max_gap_s)


def test_interpolates_between_the_bracketing_readings_and_floors() -> None:
    lookup = ListLookup([CounterPoint(100, 1_000), CounterPoint(110, 1_007)])
    assert value_at(lookup, 100, 30).cumulative_mwh == 1_000
    assert value_at(lookup, 105, 30).cumulative_mwh == 1_003  # 1003.5 floored
    assert value_at(lookup, 110, 30).cumulative_mwh == 1_007


def test_flat_before_the_first_and_after_the_last_reading() -> None:
    lookup = ListLookup([CounterPoint(100, 500), CounterPoint(200, 900)])
    assert value_at(lookup, 50, 30).cumulative_mwh == 500
    assert value_at(lookup, 10_000, 30).cumulative_mwh == 900
    assert value_at(ListLookup([]), 10, 30).cumulative_mwh == 0


def test_readings_sharing_a_second_bracket_with_the_last_before_and_the_first_after() -> None:
    # A clock that stood still: three readings at ts 100, produced in the order of their counter.
    lookup = ListLookup([CounterPoint(100, 20), CounterPoint(90, 0), CounterPoint(100, 10), CounterPoint(100, 30)])
    assert lookup.brackets([100, 95]) == [
        Bracket(CounterPoint(100, 30), CounterPoint(100, 10)),
        Bracket(CounterPoint(90, 0), CounterPoint(100, 10)),
    ]
    assert value_at(lookup, 100, 30).cumulative_mwh == 30  # everything produced up to that second


def test_a_gap_spreads_its_energy_and_marks_the_buckets_estimated() -> None:
    # 3 hours without readings, 3,000,000 mWh recorded over them.
    lookup = ListLookup([CounterPoint(0, 0), CounterPoint(10_800, 3_000_000)])
    buckets = bucket_energies(lookup, [0, 3_600, 7_200, 10_800], max_gap_s=30)
    assert [b.energy_mwh for b in buckets] == [1_000_000, 1_000_000, 1_000_000]
    assert all(b.estimated for b in buckets)
    dense = ListLookup([CounterPoint(t, t * 10) for t in range(0, 10_801, 10)])
    assert not any(b.estimated for b in bucket_energies(dense, [0, 3_600, 7_200, 10_800], max_gap_s=30))


def test_a_clock_that_steps_back_never_gives_a_negative_bucket() -> None:
    lookup = ListLookup([CounterPoint(0, 0), CounterPoint(100, 1_000), CounterPoint(50, 2_000)])
    buckets = bucket_energies(lookup, [0, 60, 100, 200], max_gap_s=1_000)
    assert all(b.energy_mwh >= 0 for b in buckets)


@given(
    st.lists(st.tuples(st.integers(1, 600), st.integers(0, 5_000_000)), min_size=0, max_size=40),
    st.lists(st.integers(-1_000, 20_000), min_size=2, max_size=30, unique=True),
)
def test_buckets_always_sum_exactly_to_the_counter_difference(steps, raw_edges) -> None:
    points, ts, cumulative = [], 0, 0
    for dt, rise in steps:
        ts += dt
        cumulative += rise
        points.append(CounterPoint(ts, cumulative))
    lookup = ListLookup(points)
    edges = sorted(raw_edges)
    buckets = bucket_energies(lookup, edges, max_gap_s=30)
    total = value_at(lookup, edges[-1], 30).cumulative_mwh - value_at(lookup, edges[0], 30).cumulative_mwh
    assert sum(b.energy_mwh for b in buckets) == total
    assert all(b.energy_mwh >= 0 for b in buckets)
    if points and edges[0] <= points[0].ts and edges[-1] >= points[-1].ts:
        assert total == points[-1].cumulative_mwh - points[0].cumulative_mwh
