"""Chart service: the database side of a chart (the installation, then every bucket edge in one statement)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from wattwitness.server.db.models import Installation
from wattwitness.server.energy.calendar import CalendarError, instant, parse_time_frame
from wattwitness.server.energy.chart import build_chart
from wattwitness.server.energy.counter import Bracket, CounterPoint
from wattwitness.server.energy.schemas import EnergyChart
from wattwitness.server.errors import Malformed, NotFound

# A stretch without readings longer than this many reading intervals makes the buckets it crosses
# `estimated`: one or two lost readings are normal on a Wi-Fi link, three are a gap.
GAP_INTERVALS = 3

# A chart's brackets in one statement: per edge, `LIMIT 1` probes of `(installation_id, ts)`, ties by
# cumulative_mwh (see counter.Bracket). The edges come as ONE parameter, a JSON array, so the statement
# text is the same for every chart whatever its number of edges (compiled once, prepared once by psycopg).
#
# PostgreSQL: LATERAL joins read each probe's row. `readings` is partitioned by month of ts with a DEFAULT
# partition, so an unbounded `ts <= edge ORDER BY ts DESC LIMIT 1` cannot stop at the newest partition:
# it merges one index descent per partition on that side of the edge (13 on a year, ~64 buffer hits per
# edge). So each side first looks within NEAR_S of the edge, which run-time pruning limits to one or two
# partitions; only when nothing is that near (before the first reading, after the last, or a gap longer
# than NEAR_S) does the far probe run: `near.ts IS NULL` is a one-time filter that skips it otherwise.
# The near and far ranges are disjoint, so readings sharing a timestamp always meet in the same probe.
#
# SQLite has no LATERAL and a plain table: correlated scalar subqueries find the probes' rowids, and a
# rowid look-up each reads the values.
NEAR_S = 86_400
BRACKETS_SQL = {
    "postgresql": text("""
SELECT coalesce(before_near.ts, before_far.ts), coalesce(before_near.cumulative_mwh, before_far.cumulative_mwh),
       coalesce(after_near.ts, after_far.ts), coalesce(after_near.cumulative_mwh, after_far.cumulative_mwh)
FROM (SELECT n, CAST(value AS BIGINT) AS ts
      FROM jsonb_array_elements_text(CAST(:edges AS JSONB)) WITH ORDINALITY AS e(value, n)) AS edges
LEFT JOIN LATERAL (SELECT ts, cumulative_mwh FROM readings
                   WHERE installation_id = :installation_id AND ts <= edges.ts AND ts > edges.ts - :near
                   ORDER BY ts DESC, cumulative_mwh DESC LIMIT 1) AS before_near ON true
LEFT JOIN LATERAL (SELECT ts, cumulative_mwh FROM readings
                   WHERE before_near.ts IS NULL AND installation_id = :installation_id AND ts <= edges.ts - :near
                   ORDER BY ts DESC, cumulative_mwh DESC LIMIT 1) AS before_far ON true
LEFT JOIN LATERAL (SELECT ts, cumulative_mwh FROM readings
                   WHERE installation_id = :installation_id AND ts >= edges.ts AND ts < edges.ts + :near
                   ORDER BY ts, cumulative_mwh LIMIT 1) AS after_near ON true
LEFT JOIN LATERAL (SELECT ts, cumulative_mwh FROM readings
                   WHERE after_near.ts IS NULL AND installation_id = :installation_id AND ts >= edges.ts + :near
                   ORDER BY ts, cumulative_mwh LIMIT 1) AS after_far ON true
ORDER BY edges.n
""").bindparams(near=NEAR_S),
    "sqlite": text("""
SELECT at_or_before.ts, at_or_before.cumulative_mwh, at_or_after.ts, at_or_after.cumulative_mwh
FROM (SELECT edges.key AS n,
             (SELECT id FROM readings WHERE installation_id = :installation_id AND ts <= edges.value
              ORDER BY ts DESC, cumulative_mwh DESC LIMIT 1) AS before_id,
             (SELECT id FROM readings WHERE installation_id = :installation_id AND ts >= edges.value
              ORDER BY ts, cumulative_mwh LIMIT 1) AS after_id
      FROM json_each(:edges) AS edges) AS probes
LEFT JOIN readings AS at_or_before ON at_or_before.id = probes.before_id
LEFT JOIN readings AS at_or_after ON at_or_after.id = probes.after_id
ORDER BY probes.n
"""),
}


class DbCounterLookup:
    """CounterLookup on `readings (installation_id, ts)`: all of a chart's edges in one statement."""

    def __init__(self, session: Session, installation_id: int) -> None:
        self.session = session
        self.installation_id = installation_id

    def brackets(self, edges: Sequence[int]) -> list[Bracket]:
        statement = BRACKETS_SQL[self.session.get_bind().dialect.name]
        rows = self.session.execute(statement, {"installation_id": self.installation_id,
                                                "edges": json.dumps(list(edges))}).all()
        return [Bracket(CounterPoint(before_ts, before_mwh) if before_ts is not None else None,
                        CounterPoint(after_ts, after_mwh) if after_ts is not None else None)
                for before_ts, before_mwh, after_ts, after_mwh in rows]


def get_installation(session: Session, installation_id: int) -> Installation:
    installation = session.get(Installation, installation_id)
    if installation is None:
        raise NotFound(f"installation {installation_id} does not exist")
    return installation


def energy_chart(session: Session, installation_id: int, time_frame: str, at: int | None,
                 reading_interval_s: int) -> EnergyChart:
    installation = get_installation(session, installation_id)
    try:
        frame = parse_time_frame(time_frame)
        moment = instant(at) if at is not None else datetime.now(UTC)
        return build_chart(DbCounterLookup(session, installation_id), installation.timezone, frame, moment,
                           max_gap_s=GAP_INTERVALS * reading_interval_s)
    except CalendarError as err:
        raise Malformed(str(err)) from err
