"""Signed device histories for the energy, integrity, status and live tests, and a check that they are real.

`SignedHistory` chains WW2 records exactly as the firmware does (the shared vectors' key and meter), so
the server verifies every one of them; the test below proves it with the offline verifier.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from itertools import pairwise
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from tests import vectors
from tests.conftest import ADMIN_TOKEN, vector_enrollment_body
from wattwitness.protocol import ZERO_HASH, Enrollment, Reading, key_id, record_hash, sign, verify_chain
from wattwitness.protocol.keys import private_key_from_scalar, public_key_bytes

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
DEFAULT_STEP_S = 60


def unix(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp())


@cache
def vector_key() -> ec.EllipticCurvePrivateKey:
    return private_key_from_scalar(vectors.private_scalar())


@dataclass
class SignedHistory:
    """A device's signed readings, chained as the firmware chains them."""

    key: ec.EllipticCurvePrivateKey = field(default_factory=vector_key)
    meter: bytes = field(default_factory=vectors.meter)
    boot: int = 1
    seq: int = 0
    prev: bytes = ZERO_HASH
    energy_mwh: int = 0
    items: list[dict[str, str]] = field(default_factory=list)
    readings: list[Reading] = field(default_factory=list)

    def add(self, ts: int, rise_mwh: int) -> Reading:
        self.energy_mwh += rise_mwh
        self.seq += 1
        reading = Reading(self.meter, self.boot, self.seq, ts, rise_mwh * 60, self.energy_mwh, self.prev)
        record = reading.encode()
        self.items.append({"record": record.hex(), "signature": sign(self.key, record).hex()})
        self.readings.append(reading)
        self.prev = record_hash(record)
        return reading

    def reboot(self, lost_head: bool = False) -> None:
        """A new boot epoch; with `lost_head` the device forgot its chain head (a chain restart)."""
        self.boot += 1
        self.seq = 0
        if lost_head:
            self.prev = ZERO_HASH

    def reset_counter(self, to_mwh: int) -> None:
        """The meter's counter restarts (meter replaced or reset): the next reading shows `to_mwh` more."""
        self.energy_mwh = to_mwh

    def steady(self, start: int, end: int, seed: int, step: int = DEFAULT_STEP_S, peak: int = 4_000) -> None:
        """Readings every `step` s in [start, end] with irregular rises (so interpolation matters)."""
        rng = random.Random(seed)
        for ts in range(start, end + 1, step):
            self.add(ts, rng.randint(0, peak))

    def counter_energy(self, start: int, end: int, posted: list[int] | None = None) -> int:
        """What the counter recorded between the readings at `start` and `end`, in chain order.

        A decrease is a counter reset: that step credits nothing (PROTOCOL.md §6).
        """
        chosen = [self.readings[i] for i in (posted if posted is not None else range(len(self.readings)))]
        inside = [r for r in chosen if start <= r.ts <= end]
        assert inside[0].ts == start and inside[-1].ts == end, "the scenario needs readings at both bounds"
        return sum(max(0, b.energy_mwh - a.energy_mwh) for a, b in pairwise(inside))

    def enrollment_body(self, timezone: str, name: str = "Test park") -> dict[str, Any]:
        public = public_key_bytes(self.key)
        if public == vectors.public_key() and self.meter == vectors.meter():
            return vector_enrollment_body(timezone=timezone, name=name)
        record = Enrollment(self.meter, unix(2026, 1, 1), public).encode()
        return {"name": name, "public_key": public.hex(), "enrollment_record": record.hex(),
                "enrollment_signature": sign(self.key, record).hex(), "timezone": timezone, "capacity_w": 10_000}


def enroll(client: TestClient, history: SignedHistory, timezone: str = "UTC", name: str = "Test park") -> int:
    response = client.post("/api/v1/installations/", json=history.enrollment_body(timezone, name), headers=ADMIN)
    assert response.status_code == 201, response.text
    installation_id: int = response.json()["id"]
    return installation_id


def post_all(client: Any, items: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Posts through the batch endpoint (5,000 per request); every item must be accepted."""
    results: list[dict[str, Any]] = []
    for start in range(0, len(items), 5000):
        response = client.post("/api/v1/readings/batch", json={"readings": items[start:start + 5000]})
        assert response.status_code == 200, response.text
        results += response.json()["results"]
    assert all(r["outcome"] in ("verified", "gap", "counter_reset") for r in results), results[:3]
    return results


def test_a_history_is_a_chain_the_offline_verifier_accepts() -> None:
    history = SignedHistory(key=ec.generate_private_key(ec.SECP256R1()))
    history.steady(unix(2026, 1, 1), unix(2026, 1, 1, 0, 10), seed=1)
    history.reboot()
    history.reset_counter(5)
    history.add(unix(2026, 1, 1, 0, 11), 7)
    items = [(bytes.fromhex(i["record"]), bytes.fromhex(i["signature"])) for i in history.items]
    report = verify_chain(items, public_key_bytes(history.key), history.meter)
    assert report.ok and report.total == 12 and report.verified == 12 and report.counter_resets == 1
    assert history.counter_energy(unix(2026, 1, 1), unix(2026, 1, 1, 0, 11)) == sum(
        max(0, b.energy_mwh - a.energy_mwh) for a, b in pairwise(history.readings))
    assert len(key_id(public_key_bytes(history.key))) == 16
