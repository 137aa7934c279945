"""The original hackathon firmware's "signature": a SHA-256 checksum anyone can compute (PROTOCOL.md §5).

Only the first 32 bytes carry meaning; the rest was uninitialised memory on the device.
"""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal

from wattwitness.protocol.outcomes import Outcome, ProtocolError


def legacy_message(power_w: float | Decimal | str, total_wh: float | Decimal | str, timestamp: int) -> bytes:
    """`ShellyEM power=%.1fW total=%.1fWh timestamp=%ld`, zero-padded to 64 bytes, as the firmware did.

    The firmware formatted C floats with printf; Python's %-formatting of a float rounds the exact binary
    value the same way glibc does (0.15 -> "0.1"), so the digest matches where decimal rounding would not.
    """
    text = "ShellyEM power=%.1fW total=%.1fWh timestamp=%d" % (float(power_w), float(total_wh), int(timestamp))
    raw = text.encode("ascii")
    if len(raw) > 64:
        raise ProtocolError("legacy message longer than the firmware's 64-byte buffer")
    return raw.ljust(64, b"\x00")


def check_legacy(power_w: float | Decimal | str, total_wh: float | Decimal | str, timestamp: int,
                 signature_hex: str) -> Outcome:
    """`digest_only` when the digest matches the reading, `digest_mismatch` when not; never verified."""
    try:
        signature = bytes.fromhex(signature_hex)
    except ValueError as err:
        raise ProtocolError("legacy signature is not hex") from err
    if len(signature) != 64:
        raise ProtocolError(f"legacy signature has 64 bytes, got {len(signature)}")
    digest = hashlib.sha256(legacy_message(power_w, total_wh, timestamp)).digest()
    return Outcome.DIGEST_ONLY if hmac.compare_digest(digest, signature[:32]) else Outcome.DIGEST_MISMATCH
