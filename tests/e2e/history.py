"""A signed production history for the dashboard's end-to-end test, made with wattwitness.protocol.

Eight days of readings from the vector key's device (a public test key), shaped like a solar day in the
installation's time zone, with what the dashboard must show honestly: a reboot that links across boots,
a counter reset (meter swapped), and a gap (readings the device never delivered).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from tests import vectors
from wattwitness.protocol import Enrollment, Reading, record_hash, sign
from wattwitness.protocol.keys import private_key_from_scalar

PRIVATE_KEY = private_key_from_scalar(vectors.private_scalar())
PUBLIC_KEY = vectors.public_key()
METER = vectors.meter()
PEAK_MW = 4_200_000  # 4.2 kW


def solar_power_mw(ts: int, zone: ZoneInfo) -> int:
    """A clear-sky bell between 06:00 and 20:00 local time; zero at night."""
    local = datetime.fromtimestamp(ts, zone)
    hour = local.hour + local.minute / 60 + local.second / 3600
    if not 6 <= hour <= 20:
        return 0
    return int(PEAK_MW * math.sin(math.pi * (hour - 6) / 14) ** 2)


@dataclass
class SignedHistory:
    """Readings signed in chain order; `items` are (record, signature) as the export carries them."""

    zone: ZoneInfo
    items: list[tuple[bytes, bytes]] = field(default_factory=list)
    boot: int = 1
    seq: int = 0
    energy_mwh: int = 1_000_000
    prev: bytes = bytes(32)
    last_ts: int | None = None
    skipped: int = 0

    def add(self, ts: int, power_mw: int | None = None, post: bool = True) -> tuple[bytes, bytes]:
        """Signs the next reading; with post=False it is signed (the chain moves on) but never delivered."""
        power = solar_power_mw(ts, self.zone) if power_mw is None else power_mw
        if self.last_ts is not None:
            # The meter's counter integrates power exactly, in whole mWh.
            self.energy_mwh += power * (ts - self.last_ts) // 3600
        self.seq += 1
        record = Reading(METER, self.boot, self.seq, ts, power, self.energy_mwh, self.prev).encode()
        signature = sign(PRIVATE_KEY, record)
        self.prev = record_hash(record)
        self.last_ts = ts
        if post:
            self.items.append((record, signature))
        else:
            self.skipped += 1
        return record, signature

    def reboot(self) -> None:
        """A new boot epoch: seq starts at 1 again and prev still links to the last record signed."""
        self.boot += 1
        self.seq = 0

    def swap_meter_counter(self) -> None:
        """The meter's counter starts from zero again (meter replaced): the next record is a counter reset."""
        self.energy_mwh = 0


# Half an hour the device never delivered, three hours before `now`: the server must mark the chart
# buckets it crosses as estimated (the e2e server reads "a gap" as more than 3 x 300 s without readings).
GAP_S = 30 * 60


def gap_start(now: int) -> int:
    return now - 3 * 3600


def build_history(now: int, zone_name: str) -> SignedHistory:
    """Eight days up to `now`: 5-minute readings for older days, 60 s for the last 26 hours."""
    history = SignedHistory(ZoneInfo(zone_name))
    start = now - 8 * 86_400
    ts = start
    while ts < now - 26 * 3600:
        if ts == start + 3 * 86_400:
            history.reboot()
        if ts == start + 5 * 86_400:
            history.swap_meter_counter()
        history.add(ts)
        ts += 300
    gap_from, gap_to = gap_start(now), gap_start(now) + GAP_S
    while ts <= now - 60:
        history.add(ts, post=not gap_from <= ts < gap_to)
        ts += 60
    return history


def enrollment(ts: int) -> tuple[bytes, bytes]:
    """The device's signed proof of its key and meter, for POST /api/v1/installations/."""
    record = Enrollment(METER, ts, PUBLIC_KEY).encode()
    return record, sign(PRIVATE_KEY, record)
