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

# A chart's brackets in one statement: per edge, two `LIMIT 1` probes of `(installation_id, ts)`, ties by
# cumulative_mwh (see counter.Bracket). The edges come as ONE parameter, a JSON array, so the statement
# text is the same for every chart whatever its number of edges (compiled once, prepared once by psycopg).
#
# PostgreSQL: LATERAL joins read each probe's row from the unique index (installation_id, ts, id). On the
# monthly partitions (db/partitions.py) a probe is an ordered Append that stops at the first partition
# holding a row: one index descent per probe, whatever the number of months.
#
# SQLite has no LATERAL: correlated scalar subqueries find the probes' rowids, and a rowid look-up each
# reads the values.
BRACKETS_SQL = {
    "postgresql": text("""
SELECT at_or_before.ts, at_or_before.cumulative_mwh, at_or_after.ts, at_or_after.cumulative_mwh
FROM (SELECT n, CAST(value AS BIGINT) AS ts
      FROM jsonb_array_elements_text(CAST(:edges AS JSONB)) WITH ORDINALITY AS e(value, n)) AS edges
LEFT JOIN LATERAL (SELECT ts, cumulative_mwh FROM readings
                   WHERE installation_id = :installation_id AND ts <= edges.ts
                   ORDER BY ts DESC, cumulative_mwh DESC LIMIT 1) AS at_or_before ON true
LEFT JOIN LATERAL (SELECT ts, cumulative_mwh FROM readings
                   WHERE installation_id = :installation_id AND ts >= edges.ts
                   ORDER BY ts, cumulative_mwh LIMIT 1) AS at_or_after ON true
ORDER BY edges.n
"""),
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
