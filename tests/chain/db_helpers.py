"""Stores signed readings the way the server does (fields, hash, status), for relayer/listener tests."""

from __future__ import annotations

from wattwitness.protocol import Reading as SignedReading
from wattwitness.protocol import key_id, record_hash
from wattwitness.server.db.models import STATUS_VERIFIED, Installation, Reading
from wattwitness.server.db.session import Database


def add_installation(database: Database, public_key: bytes, meter: bytes, capacity_w: int) -> int:
    with database.scope() as session:
        installation = Installation(name="Test park", shelly_mac=meter, public_key=public_key,
                                    key_id=key_id(public_key), capacity_w=capacity_w)
        session.add(installation)
        session.flush()
        return installation.id


def store(database: Database, installation_id: int, items: list[tuple[bytes, bytes]]) -> list[int]:
    """Stores (record, signature) pairs as verified readings; returns their ids."""
    ids = []
    with database.scope() as session:
        for record, signature in items:
            r = SignedReading.decode(record)
            row = Reading(installation_id=installation_id, boot=r.boot, seq=r.seq, ts=r.ts, power_mw=r.power_mw,
                          energy_mwh=r.energy_mwh, prev=r.prev, signature=signature, record_hash=record_hash(record),
                          status=STATUS_VERIFIED, cumulative_mwh=0)
            session.add(row)
            session.flush()
            ids.append(row.id)
    return ids
