"""GET /metrics on the real server, on SQLite and PostgreSQL: database state read at scrape time."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.ops.signed import Device
from tests.ops.test_metrics_events import samples, value
from tests.ports import free_port
from wattwitness.server import metrics
from wattwitness.server.db.models import Anchor, Reading
from wattwitness.server.db.session import Database
from wattwitness.server.metrics.db_state import database_loader


def test_installation_state_and_anchor_lag(client: TestClient, db: Database,
                                           enrolled_installation: dict[str, Any]) -> None:
    installation_id = str(enrolled_installation["id"])
    labels = {"installation_id": installation_id, "name": enrolled_installation["name"]}
    text = before = client.get("/metrics").text
    assert value(text, "wattwitness_database_up") == 1
    assert value(text, "wattwitness_unanchored_readings", **labels) == 0
    assert ("wattwitness_last_reading_age_seconds", tuple(sorted(labels.items()))) not in samples(text)

    device = Device(ts=int(time.time()) - 600)
    items = [device.reading() for _ in range(30)]
    response = client.post("/api/v1/readings/batch", json={"readings": items},
                           headers={"X-WattWitness-Outbox-Depth": "12"})
    assert response.status_code == 200 and response.json()["stored"] == 30, response.text
    forged = dict(items[-1], signature="00" * 64)
    assert client.post("/api/v1/readings/", json=forged).status_code == 422
    assert client.post("/api/v1/readings/", json=items[0]).status_code == 200  # a duplicate

    with db.scope() as session:
        head = session.scalars(select(Reading).where(Reading.seq == 20)).one()
        session.add(Anchor(installation_id=head.installation_id, chain_id=31337, ledger_address=bytes(20),
                           anchor_index=0, head_boot=head.boot, head_seq=head.seq, head_hash=head.record_hash,
                           merkle_root=bytes(32), count=20, energy_mwh=0))

    scraped_at = time.time()
    text = client.get("/metrics").text
    age = value(text, "wattwitness_last_reading_age_seconds", **labels)
    assert abs(age - (scraped_at - device.ts)) < 5
    assert value(text, "wattwitness_anchors_total", **labels) == 1
    assert value(text, "wattwitness_anchor_lag_seconds", **labels) == 10 * 10  # seq 30 vs head seq 20, 10 s apart
    assert value(text, "wattwitness_unanchored_readings", **labels) == 10
    # The ingest's hooks: outcomes, verification time, batch size, the agent's outbox depth.
    def delta(metric: str, **metric_labels: str) -> float:
        return value(text, metric, **metric_labels) - value(before, metric, **metric_labels)

    assert delta("wattwitness_readings_total", outcome="verified") == 30
    assert delta("wattwitness_readings_total", outcome="invalid_signature") == 1
    assert delta("wattwitness_readings_total", outcome="duplicate") == 1
    assert delta("wattwitness_verification_seconds_count") == 32
    assert delta("wattwitness_batch_size_count") == 1 and delta("wattwitness_batch_size_sum") == 30
    assert value(text, "wattwitness_agent_outbox_depth", installation_id=installation_id) == 12
    batch_route = {"method": "POST", "route": "/api/v1/readings/batch", "status": "200"}
    assert value(text, "wattwitness_http_requests_total", **batch_route) >= 1


def test_a_scrape_survives_a_database_that_does_not_answer() -> None:
    unreachable = Database(f"postgresql://postgres@127.0.0.1:{free_port()}/none")
    try:
        text = metrics.scrape(database_loader(unreachable)).decode()
    finally:
        unreachable.dispose()
    assert value(text, "wattwitness_database_up") == 0
    assert "wattwitness_last_reading_age_seconds{" not in text
