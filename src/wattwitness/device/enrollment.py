"""Registering an installation: the device signs an Enrollment record (its key and its meter's MAC) and the
operator's token authorises it (PROTOCOL.md §3, docs/api.md `POST /api/v1/installations/`)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from wattwitness.protocol import Enrollment

from .server_api import ServerApi
from .shelly import MeterClient
from .signer import Signer


@dataclass(frozen=True, slots=True)
class EnrollmentResult:
    created: bool
    installation: dict[str, Any]


def signed_enrollment(signer: Signer, meter_mac: bytes, ts: int) -> tuple[bytes, bytes]:
    """(record, signature): proof that whoever enrolls this meter holds the signing key."""
    record = Enrollment(meter=meter_mac, ts=ts, public_key=signer.public_key).encode()
    return record, signer.sign(record)


def enroll(api: ServerApi, token: str, signer: Signer, meter: MeterClient, *, name: str, timezone: str = "UTC",
           capacity_w: int | None = None, now: float | None = None) -> EnrollmentResult:
    """Reads the meter's MAC from the meter itself, signs, and registers. Raises ServerRejected on 4xx."""
    meter.initialize()
    assert meter.mac is not None
    record, signature = signed_enrollment(signer, meter.mac, int(time.time() if now is None else now))
    body: dict[str, Any] = {"name": name, "public_key": signer.public_key.hex(), "enrollment_record": record.hex(),
                            "enrollment_signature": signature.hex(), "timezone": timezone, "legacy": False,
                            "key_storage": signer.key_storage}
    if capacity_w is not None:
        body["capacity_w"] = capacity_w
    status, installation = api.enroll(token, body)
    return EnrollmentResult(created=status == 201, installation=installation)
