"""Reading look-ups for the API: newest-first pages with a cursor, the latest reading, the JSON shape.

Pages are ordered by (ts, boot, seq) descending and served by the (installation_id, ts) index; the
cursor is the last row's position, so a page costs the same wherever it lies in the history.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from wattwitness.protocol import Reading as SignedReading
from wattwitness.server.db.models import STATUS_COUNTER_RESET, STATUS_VERIFIED, Anchor, Installation, Reading
from wattwitness.server.errors import Malformed
from wattwitness.server.readings.schemas import ReadingOut

VERIFIED_STATUSES = frozenset({STATUS_VERIFIED, STATUS_COUNTER_RESET})


def encode_cursor(reading: Reading) -> str:
    raw = f"{reading.ts}.{reading.boot}.{reading.seq}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, int, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        ts, boot, seq = (int(part) for part in raw.split("."))
    except (ValueError, binascii.Error, UnicodeDecodeError) as err:
        raise Malformed("cursor is not one this server handed out") from err
    return ts, boot, seq


def to_out(reading: Reading, installation: Installation, anchor: Anchor | None = None) -> ReadingOut:
    record = None
    if reading.prev is not None:
        record = SignedReading(installation.shelly_mac, reading.boot, reading.seq, reading.ts, reading.power_mw,
                               reading.energy_mwh, reading.prev).encode().hex()
    return ReadingOut(
        id=reading.id, installation_id=reading.installation_id, power_w=reading.power_mw / 1000,
        total_wh=reading.energy_mwh / 1000, timestamp=reading.ts, signature=reading.signature.hex(),
        is_verified=reading.status in VERIFIED_STATUSES, created_at=int(reading.created_at.timestamp()),
        boot=reading.boot, seq=reading.seq, record=record,
        record_hash=reading.record_hash.hex() if reading.record_hash is not None else None, status=reading.status,
        cumulative_wh=reading.cumulative_mwh / 1000, is_on_chain=anchor is not None and anchor.tx_hash is not None,
        blockchain_tx_hash="0x" + anchor.tx_hash.hex() if anchor is not None and anchor.tx_hash else None,
        blockchain_block_number=anchor.block_number if anchor is not None else None)


def to_out_many(session: Session, readings: Sequence[Reading], installation: Installation) -> list[ReadingOut]:
    """Readings with their anchors, fetched in one query."""
    anchor_ids = {r.anchor_id for r in readings if r.anchor_id is not None}
    anchors = {a.id: a for a in session.scalars(select(Anchor).where(Anchor.id.in_(anchor_ids)))} if anchor_ids else {}
    return [to_out(r, installation, anchors.get(r.anchor_id) if r.anchor_id else None) for r in readings]


def page(session: Session, installation: Installation, *, since: int | None, until: int | None, limit: int,
         cursor: str | None) -> tuple[list[Reading], str | None]:
    query = select(Reading).where(Reading.installation_id == installation.id)
    if since is not None:
        query = query.where(Reading.ts >= since)
    if until is not None:
        query = query.where(Reading.ts <= until)
    if cursor:
        ts, boot, seq = decode_cursor(cursor)
        query = query.where(or_(Reading.ts < ts, and_(Reading.ts == ts, or_(
            Reading.boot < boot, and_(Reading.boot == boot, Reading.seq < seq)))))
    query = query.order_by(Reading.ts.desc(), Reading.boot.desc(), Reading.seq.desc()).limit(limit + 1)
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1]) if more and rows else None


def latest(session: Session, installation: Installation) -> Reading | None:
    return session.scalars(select(Reading).where(Reading.installation_id == installation.id)
                           .order_by(Reading.boot.desc(), Reading.seq.desc()).limit(1)).first()
