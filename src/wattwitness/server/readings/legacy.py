"""Readings of the original hackathon firmware (PROTOCOL.md §5): a checksum, never a signature.

Accepted only for installations explicitly marked legacy and stored as `digest_only`, never verified.
They have no boot/seq: they get boot 0 and seq counting up in arrival order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from wattwitness.protocol import Outcome, ProtocolError, check_legacy, parse_mac
from wattwitness.server.db.models import STATUS_DIGEST_ONLY, Installation, Reading
from wattwitness.server.errors import NotFound, RejectedReading
from wattwitness.server.readings.schemas import LegacyReadingIn
from wattwitness.server.readings.service import counter_step, lock_installations


@dataclass(slots=True)
class LegacyResult:
    outcome: Outcome
    reading: Reading


def _payload_mac(payload: Mapping[str, Any] | None) -> bytes | None:
    """The meter MAC in a Shelly answer: Gen1 `mac`, Gen2 `sys.mac` or `device.mac`."""
    if not payload:
        return None
    candidates = [payload.get("mac")]
    for section in ("sys", "device", "wifi_sta"):
        value = payload.get(section)
        if isinstance(value, Mapping):
            candidates.append(value.get("mac"))
    for candidate in candidates:
        if isinstance(candidate, str):
            try:
                return parse_mac(candidate)
            except ProtocolError:
                continue
    return None


def _milli(value: float) -> int:
    # The firmware sends W and Wh with one decimal; the text of the float is what it meant.
    return int((Decimal(repr(value)) * 1000).to_integral_value())


def _installation(session: Session, body: LegacyReadingIn) -> Installation:
    mac = _payload_mac(body.shelly_payload)
    if mac is not None:
        found = lock_installations(session, {mac}).get(mac)
        if found is None:
            raise RejectedReading(Outcome.UNKNOWN_METER, f"no installation is registered for meter {mac.hex().upper()}")
        return found
    # Lock before reading (see lock_installations): the installation by id, or all legacy ones.
    condition = (Installation.id == body.installation_id if body.installation_id is not None
                 else Installation.legacy.is_(True))
    session.execute(update(Installation).where(condition).values(reading_count=Installation.reading_count))
    candidates = list(session.scalars(select(Installation).where(condition).limit(2)))
    if body.installation_id is not None and not candidates:
        raise NotFound(f"no installation {body.installation_id}")
    if len(candidates) != 1:
        raise RejectedReading(Outcome.UNKNOWN_METER, "the reading names no meter (shelly_payload.mac) and there is "
                              "not exactly one legacy installation")
    return candidates[0]


def ingest_legacy(session: Session, body: LegacyReadingIn) -> LegacyResult:
    installation = _installation(session, body)
    if not installation.legacy:
        raise RejectedReading(Outcome.MALFORMED, f"installation {installation.id} is not legacy: it accepts only "
                              "signed WW2 records ({record, signature})")
    try:
        outcome = check_legacy(body.power, body.total, body.timestamp, body.signature)
        signature = bytes.fromhex(body.signature)
    except (ProtocolError, ValueError) as err:
        raise RejectedReading(Outcome.MALFORMED, str(err)) from err
    if outcome is not Outcome.DIGEST_ONLY:
        raise RejectedReading(outcome, "the digest does not match power, total and timestamp")

    power_mw, energy_mwh = _milli(body.power), _milli(body.total)
    same_time = session.scalars(select(Reading).where(Reading.installation_id == installation.id,
                                                      Reading.ts == body.timestamp))
    for stored in same_time:
        if stored.signature[:32] == signature[:32] and stored.energy_mwh == energy_mwh:
            return LegacyResult(Outcome.DUPLICATE, stored)

    last = session.scalars(select(Reading).where(Reading.installation_id == installation.id)
                           .order_by(Reading.boot.desc(), Reading.seq.desc()).limit(1)).first()
    cumulative = last.cumulative_mwh + counter_step(last.energy_mwh, energy_mwh) if last else 0
    reading = Reading(installation_id=installation.id, boot=0, seq=(last.seq + 1) if last else 1, ts=body.timestamp,
                      power_mw=power_mw, energy_mwh=energy_mwh, prev=None, signature=signature, record_hash=None,
                      status=STATUS_DIGEST_ONLY, cumulative_mwh=cumulative, created_at=datetime.now(UTC))
    session.add(reading)
    installation.reading_count += 1
    session.flush()
    return LegacyResult(Outcome.DIGEST_ONLY, reading)
