"""Gauges read from the database at scrape time: last-reading age per installation, anchors and their lag.

Computing these when Prometheus asks (instead of updating gauges as readings arrive) keeps them right
with any number of server workers and across restarts: the database is the one source of truth. Each
value comes from an index look-up per installation, so a scrape costs the same after twenty years.
When the database does not answer, the scrape still succeeds and says so (`wattwitness_database_up 0`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InstallationState:
    """What the database says about one installation, in Unix seconds."""

    installation_id: int
    name: str
    last_reading_ts: int | None
    anchors: int
    last_anchored_ts: int | None  # ts of the newest anchored head record
    unanchored_readings: int


StateLoader = Callable[[], Sequence[InstallationState]]


class StateCollector(Collector):
    def __init__(self, load: StateLoader, clock: Callable[[], float] = time.time) -> None:
        self._load = load
        self._clock = clock

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("wattwitness_database_up", "1 when the database answered this scrape")
        try:
            states = self._load()
        except Exception as err:  # any driver error: report it as a metric, never fail the scrape
            log.warning("metrics: database did not answer: %s", type(err).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from self._installation_metrics(states, self._clock())

    @staticmethod
    def _installation_metrics(states: Sequence[InstallationState], now: float) -> Iterator[Metric]:
        labels = ["installation_id", "name"]
        age = GaugeMetricFamily("wattwitness_last_reading_age_seconds",
                                "Seconds since the newest stored reading's measurement time", labels=labels)
        anchors = CounterMetricFamily("wattwitness_anchors", "Anchors recorded on chain", labels=labels)
        lag = GaugeMetricFamily("wattwitness_anchor_lag_seconds",
                                "Measurement time of the newest reading minus that of the newest anchored head "
                                "(since the first reading when nothing is anchored yet)", labels=labels)
        pending = GaugeMetricFamily("wattwitness_unanchored_readings",
                                    "Stored readings after the newest anchored head", labels=labels)
        for state in states:
            values = [str(state.installation_id), state.name]
            anchors.add_metric(values, state.anchors)
            pending.add_metric(values, state.unanchored_readings)
            if state.last_reading_ts is not None:
                age.add_metric(values, max(0.0, now - state.last_reading_ts))
                if state.last_anchored_ts is not None:
                    lag.add_metric(values, max(0, state.last_reading_ts - state.last_anchored_ts))
        yield from (age, anchors, lag, pending)
