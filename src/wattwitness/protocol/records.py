"""WW2 reading (type 0x01, 74 bytes) and enrollment (type 0x00, 82 bytes) records, byte for byte."""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from wattwitness.protocol.outcomes import ProtocolError

MAGIC = b"WW"
VERSION = 0x02
TYPE_ENROLLMENT = 0x00
TYPE_READING = 0x01
READING_LEN = 74
ENROLLMENT_LEN = 82
ZERO_HASH = bytes(32)

# magic(2) version(1) type(1) meter(6) boot(4) seq(4) ts(8) power(8, signed) energy(8) prev(32)
_READING = struct.Struct(">2sBB6sIIQqQ32s")
# magic(2) version(1) type(1) meter(6) ts(8) public key X||Y (64)
_ENROLLMENT = struct.Struct(">2sBB6sQ64s")
assert _READING.size == READING_LEN and _ENROLLMENT.size == ENROLLMENT_LEN

UINT32_MAX = 2**32 - 1
UINT64_MAX = 2**64 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def record_hash(record: bytes) -> bytes:
    """SHA-256 of a record's bytes: what `prev` commits to and what a signature covers."""
    return hashlib.sha256(record).digest()


def parse_mac(text: str) -> bytes:
    """A meter MAC as 12 hex digits, with or without ':' or '-' separators, either case."""
    cleaned = text.replace(":", "").replace("-", "").strip()
    if len(cleaned) != 12:
        raise ProtocolError(f"a meter MAC has 12 hex digits, got {text!r}")
    try:
        return bytes.fromhex(cleaned)
    except ValueError as err:
        raise ProtocolError(f"a meter MAC has 12 hex digits, got {text!r}") from err


def format_mac(mac: bytes) -> str:
    """Upper-case hex without separators, as the Shelly reports it (`EC64C9C05E97`)."""
    return mac.hex().upper()


def _check_header(data: bytes, expected_type: int, expected_len: int, what: str) -> None:
    if len(data) != expected_len:
        raise ProtocolError(f"a WW2 {what} record has {expected_len} bytes, got {len(data)}")
    if data[0:2] != MAGIC:
        raise ProtocolError(f"bad magic {data[0:2].hex()}, expected 'WW'")
    if data[2] != VERSION:
        raise ProtocolError(f"unknown version {data[2]}, expected {VERSION}")
    if data[3] != expected_type:
        raise ProtocolError(f"record type {data[3]} is not a {what} record ({expected_type})")


@dataclass(frozen=True, slots=True)
class Reading:
    """One signed meter reading. Power in mW (positive = production), energy counter in mWh."""

    meter: bytes
    boot: int
    seq: int
    ts: int
    power_mw: int
    energy_mwh: int
    prev: bytes = ZERO_HASH

    def encode(self) -> bytes:
        if len(self.meter) != 6 or len(self.prev) != 32:
            raise ProtocolError("meter must be 6 bytes and prev 32 bytes")
        if not (0 <= self.boot <= UINT32_MAX and 0 <= self.seq <= UINT32_MAX):
            raise ProtocolError("boot and seq are uint32")
        if not (0 <= self.ts <= UINT64_MAX and 0 <= self.energy_mwh <= UINT64_MAX):
            raise ProtocolError("ts and energy are uint64")
        if not INT64_MIN <= self.power_mw <= INT64_MAX:
            raise ProtocolError("power is int64")
        return _READING.pack(
            MAGIC, VERSION, TYPE_READING, self.meter, self.boot, self.seq, self.ts,
            self.power_mw, self.energy_mwh, self.prev,
        )

    @classmethod
    def decode(cls, data: bytes) -> Reading:
        _check_header(data, TYPE_READING, READING_LEN, "reading")
        _, _, _, meter, boot, seq, ts, power, energy, prev = _READING.unpack(data)
        return cls(meter, boot, seq, ts, power, energy, prev)

    @property
    def order(self) -> tuple[int, int]:
        return (self.boot, self.seq)

    @property
    def starts_chain(self) -> bool:
        """True for a key's first record or a chain restart (prev is 32 zero bytes)."""
        return self.prev == ZERO_HASH


def follows(successor: Reading, predecessor_record: bytes) -> bool:
    """PROTOCOL.md §2 successor rule: B follows A when B.prev == hash(A) and (boot, seq) steps right."""
    predecessor = Reading.decode(predecessor_record)
    if successor.prev != record_hash(predecessor_record):
        return False
    if successor.boot == predecessor.boot:
        return successor.seq == predecessor.seq + 1
    return successor.boot > predecessor.boot and successor.seq == 1


@dataclass(frozen=True, slots=True)
class Enrollment:
    """Proof of possession: the device signs its own public key and its meter's MAC."""

    meter: bytes
    ts: int
    public_key: bytes

    def encode(self) -> bytes:
        if len(self.meter) != 6 or len(self.public_key) != 64:
            raise ProtocolError("meter must be 6 bytes and the public key 64 bytes")
        return _ENROLLMENT.pack(MAGIC, VERSION, TYPE_ENROLLMENT, self.meter, self.ts, self.public_key)

    @classmethod
    def decode(cls, data: bytes) -> Enrollment:
        _check_header(data, TYPE_ENROLLMENT, ENROLLMENT_LEN, "enrollment")
        _, _, _, meter, ts, public_key = _ENROLLMENT.unpack(data)
        return cls(meter, ts, public_key)
