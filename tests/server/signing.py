"""Signed WW2 material for server tests, made with the protocol library and real P-256 keys."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from tests import vectors
from wattwitness.protocol import ZERO_HASH, Enrollment, Reading, public_key_bytes, record_hash, sign
from wattwitness.protocol.keys import private_key_from_scalar


def vector_key() -> ec.EllipticCurvePrivateKey:
    return private_key_from_scalar(vectors.private_scalar())


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def enrollment_body(key: ec.EllipticCurvePrivateKey, meter: bytes, name: str = "Park", **extra: Any) -> dict[str, Any]:
    record = Enrollment(meter=meter, ts=1_750_000_000, public_key=public_key_bytes(key)).encode()
    return {"name": name, "public_key": public_key_bytes(key).hex(), "enrollment_record": record.hex(),
            "enrollment_signature": sign(key, record).hex(), **extra}


def signed_chain(key: ec.EllipticCurvePrivateKey, meter: bytes, energies: Sequence[int], *, start_ts: int,
                 boot: int = 1, prev: bytes = ZERO_HASH, interval_s: int = 10,
                 new_boot_at: Sequence[int] = ()) -> list[dict[str, str]]:
    """Wire items `{record, signature}`: one reading per counter value, linked; a new boot starts at the
    indexes in `new_boot_at` (seq back to 1, prev still linking)."""
    items = []
    seq = 0
    for index, energy in enumerate(energies):
        if index in new_boot_at:
            boot, seq = boot + 1, 0
        seq += 1
        reading = Reading(meter=meter, boot=boot, seq=seq, ts=start_ts + index * interval_s, power_mw=1000 * index,
                          energy_mwh=energy, prev=prev)
        record = reading.encode()
        items.append({"record": record.hex(), "signature": sign(key, record).hex()})
        prev = record_hash(record)
    return items
