"""Real signed WW2 histories for the operations tests, made with the shared vectors' key and meter.

The vectors' installation is what tests/conftest.py's `enrolled_installation` enrolls, so these records
are accepted by the real server exactly as a device's would be.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import ec

from tests import vectors
from wattwitness.protocol import ZERO_HASH, Reading, record_hash, sign


def private_key() -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(vectors.private_scalar(), ec.SECP256R1())


@dataclass
class Device:
    """A software stand-in for the secure element plus the agent's chain state (boot, seq, head)."""

    ts: int
    energy_mwh: int = 1_000_000
    boot: int = 1
    seq: int = 0
    head: bytes = ZERO_HASH
    key: ec.EllipticCurvePrivateKey = field(default_factory=private_key)

    def reading(self, power_mw: int = 2_500_000, step_s: int = 10,
                energy_step_mwh: int | None = None) -> dict[str, str]:
        """The next signed record, as the JSON item the API takes."""
        self.seq += 1
        self.ts += step_s
        self.energy_mwh += energy_step_mwh if energy_step_mwh is not None else power_mw * step_s // 3600
        record = Reading(vectors.meter(), self.boot, self.seq, self.ts, power_mw, self.energy_mwh, self.head).encode()
        self.head = record_hash(record)
        return {"record": record.hex(), "signature": sign(self.key, record).hex()}

    def reboot(self) -> None:
        """A new boot epoch that keeps the chain head (a normal restart)."""
        self.boot += 1
        self.seq = 0

    def counter_reset(self, energy_mwh: int = 0) -> None:
        self.energy_mwh = energy_mwh
