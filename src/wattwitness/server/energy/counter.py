"""Energy from the meter's counter: cumulative production at any instant, and buckets that telescope.

Each stored reading carries `cumulative_mwh`, the installation's lifetime production up to that
reading (the ingest already turns counter resets into new baselines, so it never decreases). The
production up to an instant t is interpolated linearly between the two readings that bracket t by
timestamp; before the first reading it is the first reading's value (nothing produced yet) and after the
last it stays flat. Energy in [t1, t2) is cumulative(t2) - cumulative(t1).

Every edge's cumulative value is an integer number of mWh (exact fraction, then floor), and each
bucket is the difference of its two edges, so the buckets add up exactly to the period's total. The
cost is two index look-ups per edge, whatever the length of the history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from itertools import pairwise
from math import floor
from typing import Protocol


@dataclass(frozen=True, slots=True)
class CounterPoint:
    """A stored reading as far as energy is concerned: when, and lifetime production up to then."""

    ts: int  # Unix seconds
    cumulative_mwh: int


class CounterLookup(Protocol):
    """Finds the readings that bracket an instant (a database index, or a list in tests)."""

    def at_or_before(self, ts: int) -> CounterPoint | None:
        """The reading with the greatest ts <= `ts` (the one produced last, if several share it)."""
        ...

    def at_or_after(self, ts: int) -> CounterPoint | None:
        """The reading with the smallest ts >= `ts` (the one produced first, if several share it)."""
        ...


@dataclass(frozen=True, slots=True)
class EdgeValue:
    ts: int
    cumulative_mwh: int
    # True when the value was interpolated across a stretch without readings longer than the threshold.
    estimated: bool


@dataclass(frozen=True, slots=True)
class BucketEnergy:
    start: int
    end: int
    energy_mwh: int
    estimated: bool


def cumulative_at(lookup: CounterLookup, ts: int, max_gap_s: int) -> EdgeValue:
    """Lifetime production (mWh, floored) at `ts`, interpolated between the readings around it."""
    before = lookup.at_or_before(ts)
    if before is not None and before.ts == ts:
        return EdgeValue(ts, before.cumulative_mwh, False)
    after = lookup.at_or_after(ts)
    if before is None:
        # Nothing produced before the first reading; with no reading at all, nothing ever.
        return EdgeValue(ts, after.cumulative_mwh if after is not None else 0, False)
    if after is None:
        return EdgeValue(ts, before.cumulative_mwh, False)
    span = after.ts - before.ts
    rise = after.cumulative_mwh - before.cumulative_mwh
    value = before.cumulative_mwh + floor(Fraction(rise * (ts - before.ts), span))
    return EdgeValue(ts, value, span > max_gap_s)


def bucket_energies(lookup: CounterLookup, edges: Sequence[datetime | int], max_gap_s: int) -> list[BucketEnergy]:
    """Energy per bucket between consecutive edges; the list sums exactly to last edge - first edge.

    A reading whose clock stepped back could make cumulative(ts) dip; carrying the running maximum
    across edges keeps every bucket non-negative without breaking the telescoping sum.
    """
    seconds = [edge if isinstance(edge, int) else int(edge.timestamp()) for edge in edges]
    values: list[EdgeValue] = []
    for ts in seconds:
        value = cumulative_at(lookup, ts, max_gap_s)
        if values and value.cumulative_mwh < values[-1].cumulative_mwh:
            value = EdgeValue(ts, values[-1].cumulative_mwh, value.estimated)
        values.append(value)
    return [
        BucketEnergy(left.ts, right.ts, right.cumulative_mwh - left.cumulative_mwh,
                     left.estimated or right.estimated)
        for left, right in pairwise(values)
    ]


@dataclass
class ListLookup:
    """A CounterLookup over points sorted by ts: for the offline tools and the pure tests."""

    points: Sequence[CounterPoint]

    def at_or_before(self, ts: int) -> CounterPoint | None:
        candidates = [p for p in self.points if p.ts <= ts]
        return max(candidates, key=lambda p: (p.ts, p.cumulative_mwh)) if candidates else None

    def at_or_after(self, ts: int) -> CounterPoint | None:
        candidates = [p for p in self.points if p.ts >= ts]
        return min(candidates, key=lambda p: (p.ts, p.cumulative_mwh)) if candidates else None
