"""Energy from the meter's counter: cumulative production at any instant, and buckets that telescope.

Each stored reading carries `cumulative_mwh`, the installation's lifetime production up to that
reading (the ingest already turns counter resets into new baselines, so it never decreases along the
chain). The production up to an instant t is interpolated linearly between the two readings that
bracket t by timestamp; before the first reading it is the first reading's value (nothing produced
yet) and after the last it stays flat. Energy in [t1, t2) is cumulative(t2) - cumulative(t1).

Every edge's cumulative value is an integer number of mWh (exact fraction, then floor), and each
bucket is the difference of its two edges, so the buckets add up exactly to the period's total. A
chart asks its lookup for the brackets of all its edges at once: one database statement whatever the
number of buckets or the length of the history.
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


@dataclass(frozen=True, slots=True)
class Bracket:
    """The readings around an instant t.

    Several readings can share a timestamp (a device clock that stood still or stepped back). Of those,
    `before` is the one produced last and `after` the one produced first. `cumulative_mwh` never
    decreases along the production order (boot, seq), so that is the greatest, respectively smallest,
    `cumulative_mwh` among them: the lookups order ties by it.
    """

    before: CounterPoint | None  # greatest ts <= t
    after: CounterPoint | None  # smallest ts >= t


class CounterLookup(Protocol):
    """Finds the readings that bracket each edge of a chart (a database index, or a list in tests)."""

    def brackets(self, edges: Sequence[int]) -> list[Bracket]:
        """One Bracket per edge, in the order of `edges`."""
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


def cumulative_at(ts: int, bracket: Bracket, max_gap_s: int) -> EdgeValue:
    """Lifetime production (mWh, floored) at `ts`, interpolated between the readings that bracket it."""
    before, after = bracket.before, bracket.after
    if before is not None and before.ts == ts:
        return EdgeValue(ts, before.cumulative_mwh, False)
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
    for ts, bracket in zip(seconds, lookup.brackets(seconds), strict=True):
        value = cumulative_at(ts, bracket, max_gap_s)
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
    """A CounterLookup over points in any order, for the pure tests: the same answers as the database."""

    points: Sequence[CounterPoint]

    def brackets(self, edges: Sequence[int]) -> list[Bracket]:
        return [self._bracket(ts) for ts in edges]

    def _bracket(self, ts: int) -> Bracket:
        before = [p for p in self.points if p.ts <= ts]
        after = [p for p in self.points if p.ts >= ts]
        return Bracket(max(before, key=_timeline) if before else None, min(after, key=_timeline) if after else None)


def _timeline(point: CounterPoint) -> tuple[int, int]:
    """By time, then by production order among readings that share a second (see Bracket)."""
    return point.ts, point.cumulative_mwh
