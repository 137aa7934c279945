"""Rate limiting: a flood of invalid signatures from one client is throttled (429 `rate_limited`) while
another device's valid readings keep being stored; valid traffic, however heavy, is never throttled."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.ops.signed import Device, private_key
from tests.reliability.helpers import now
from wattwitness.protocol import Reading as SignedReading
from wattwitness.protocol import sign
from wattwitness.server.db.models import Reading, SecurityEvent
from wattwitness.server.db.session import Database
from wattwitness.server.ratelimit import DEFAULT_BURST, RejectionBuckets


def _forged(device: Device) -> dict[str, str]:
    item = device.reading()
    item["signature"] = ("01" if item["signature"][:2] != "01" else "02") + item["signature"][2:]
    return item


def _count(db: Database, model: Any) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_flood_of_invalid_signatures_is_throttled_and_valid_device_unaffected(
        app: FastAPI, client: TestClient, enrolled_installation: dict[str, Any], db: Database) -> None:
    attacker = TestClient(app, client=("203.0.113.9", 40000), raise_server_exceptions=False)
    device_client = TestClient(app, client=("198.51.100.7", 40001), raise_server_exceptions=False)
    forger = Device(ts=now() - 7200, boot=50)
    device = Device(ts=now() - 3600)
    answers: dict[int, int] = {}
    stored = 0
    for round_ in range(DEFAULT_BURST + 40):
        if round_ % 10 == 0:
            batch = attacker.post("/api/v1/readings/batch", json={"readings": [_forged(forger) for _ in range(20)]})
            answers[batch.status_code] = answers.get(batch.status_code, 0) + 1
        flood = attacker.post("/api/v1/readings/", json=_forged(forger))
        answers[flood.status_code] = answers.get(flood.status_code, 0) + 1
        if flood.status_code == 429:
            assert flood.json()["error"] == "rate_limited", flood.text
            assert int(flood.headers["retry-after"]) >= 1
        if round_ % 5 == 0:
            valid = device_client.post("/api/v1/readings/", json=device.reading())
            assert valid.status_code == 201, valid.text
            stored += 1
    assert answers.get(429, 0) >= 40, answers  # throttled once its budget of rejections was spent
    assert _count(db, Reading) == stored
    # Throttled requests never reached verification: security events stop at about the burst.
    assert _count(db, SecurityEvent) <= DEFAULT_BURST + 20
    # The device's batches also still go through while the attacker is throttled.
    batch = device_client.post("/api/v1/readings/batch", json={"readings": [device.reading() for _ in range(50)]})
    assert batch.status_code == 200 and batch.json()["stored"] == 50


def test_valid_traffic_is_never_throttled(client: TestClient, enrolled_installation: dict[str, Any]) -> None:
    device = Device(ts=now() - 3600)
    items = [device.reading() for _ in range(DEFAULT_BURST * 2)]
    for item in items:
        assert client.post("/api/v1/readings/", json=item).status_code == 201
    for item in items:  # an agent re-sending after a lost acknowledgement: duplicates, never throttled
        assert client.post("/api/v1/readings/", json=item).status_code == 200
    batch = client.post("/api/v1/readings/batch", json={"readings": items})
    assert batch.status_code == 200 and batch.json()["duplicates"] == len(items)


def test_bucket_refills_with_time() -> None:
    clock = [1000.0]
    buckets = RejectionBuckets(burst=3, refill_per_s=0.5, clock=lambda: clock[0])
    buckets.charge("a", 3)
    assert not buckets.allowed("a")
    assert buckets.allowed("b")
    assert buckets.retry_after_s("a") >= 2
    clock[0] += 2.0
    assert buckets.allowed("a")
    buckets.charge("a", 100)
    clock[0] += 6.0
    assert buckets.allowed("a")


def test_retryable_rejections_are_not_charged(app: FastAPI, client: TestClient,
                                              enrolled_installation: dict[str, Any]) -> None:
    """future_timestamp and unknown_meter are what honest agents retry: they never lead to a 429."""
    item = Device(ts=now() + 86_400).reading()
    record = SignedReading(bytes.fromhex("0a0b0c0d0e0f"), 1, 1, now() - 60, 1000, 1000).encode()
    unknown = {"record": record.hex(), "signature": sign(private_key(), record).hex()}
    for _ in range(DEFAULT_BURST + 10):
        response = client.post("/api/v1/readings/", json=item)
        assert response.json()["error"] == "future_timestamp", response.text
        assert client.post("/api/v1/readings/", json=unknown).json()["error"] == "unknown_meter"
    batch = client.post("/api/v1/readings/batch", json={"readings": [item] * (DEFAULT_BURST + 10)})
    assert batch.status_code == 200
    assert client.post("/api/v1/readings/", json=Device(ts=now() - 3600).reading()).status_code == 201
