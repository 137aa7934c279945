"""Streamed exports of an installation's readings, in (boot, seq) order.

JSONL: one `{"record", "signature"}` per line, exactly what `wattwitness verify` reads (legacy readings,
which have no record, are written as `{"legacy": {power, total, timestamp, signature}}`).
CSV: one row per reading with the decoded fields next to the signed bytes.

The stream reads in keyset pages with its own short sessions, so an export of years of readings
neither holds a transaction open for its whole length nor loads everything into memory.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

from sqlalchemy import select

from wattwitness.protocol import Reading as SignedReading
from wattwitness.server.db.models import Installation, Reading
from wattwitness.server.db.session import Database
from wattwitness.server.readings.store import after

PAGE = 2000
CSV_COLUMNS = ["boot", "seq", "timestamp", "power_w", "total_wh", "status", "record_hash", "record", "signature"]


def _rows(database: Database, installation_id: int, since: int | None, until: int | None) -> Iterator[Reading]:
    position: tuple[int, int] | None = None
    while True:
        query = select(Reading).where(Reading.installation_id == installation_id)
        if since is not None:
            query = query.where(Reading.ts >= since)
        if until is not None:
            query = query.where(Reading.ts <= until)
        if position is not None:
            query = query.where(after(position))
        with database.session() as session:
            rows = list(session.scalars(query.order_by(Reading.boot, Reading.seq).limit(PAGE)))
        yield from rows
        if len(rows) < PAGE:
            return
        position = (rows[-1].boot, rows[-1].seq)


def _record_hex(reading: Reading, meter: bytes) -> str | None:
    if reading.prev is None:
        return None
    return SignedReading(meter, reading.boot, reading.seq, reading.ts, reading.power_mw, reading.energy_mwh,
                         reading.prev).encode().hex()


def jsonl(database: Database, installation: Installation, since: int | None, until: int | None) -> Iterator[str]:
    lines: list[str] = []
    for reading in _rows(database, installation.id, since, until):
        record = _record_hex(reading, installation.shelly_mac)
        if record is not None:
            item: dict[str, object] = {"record": record, "signature": reading.signature.hex()}
        else:
            item = {"legacy": {"power": reading.power_mw / 1000, "total": reading.energy_mwh / 1000,
                               "timestamp": reading.ts, "signature": reading.signature.hex()}}
        lines.append(json.dumps(item, separators=(",", ":")) + "\n")
        if len(lines) >= 500:
            yield "".join(lines)
            lines = []
    if lines:
        yield "".join(lines)


def csv_rows(database: Database, installation: Installation, since: int | None, until: int | None) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for count, reading in enumerate(_rows(database, installation.id, since, until), start=1):
        writer.writerow([reading.boot, reading.seq, reading.ts, reading.power_mw / 1000, reading.energy_mwh / 1000,
                         reading.status, reading.record_hash.hex() if reading.record_hash else "",
                         _record_hex(reading, installation.shelly_mac) or "", reading.signature.hex()])
        if count % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
