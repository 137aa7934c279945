"""Chart service: the database side of a chart (installation, counter look-ups by the ts index)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement, UnaryExpression

from wattwitness.server.db.models import Installation, Reading
from wattwitness.server.energy.calendar import CalendarError, instant, parse_time_frame
from wattwitness.server.energy.chart import build_chart
from wattwitness.server.energy.counter import CounterPoint
from wattwitness.server.energy.schemas import EnergyChart
from wattwitness.server.errors import Malformed, NotFound

# A stretch without readings longer than this many reading intervals makes the buckets it crosses
# `estimated`: one or two lost readings are normal on a Wi-Fi link, three are a gap.
GAP_INTERVALS = 3


class DbCounterLookup:
    """CounterLookup on `readings (installation_id, ts)`: each call is one index probe, LIMIT 1."""

    def __init__(self, session: Session, installation_id: int) -> None:
        self.session = session
        self.installation_id = installation_id

    def _one(self, condition: ColumnElement[bool], order: UnaryExpression[int]) -> CounterPoint | None:
        row = self.session.execute(
            select(Reading.ts, Reading.cumulative_mwh)
            .where(Reading.installation_id == self.installation_id, condition)
            .order_by(order)
            .limit(1)
        ).first()
        return CounterPoint(row.ts, row.cumulative_mwh) if row is not None else None

    def at_or_before(self, ts: int) -> CounterPoint | None:
        return self._one(Reading.ts <= ts, Reading.ts.desc())

    def at_or_after(self, ts: int) -> CounterPoint | None:
        return self._one(Reading.ts >= ts, Reading.ts.asc())


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
