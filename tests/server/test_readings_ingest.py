"""Ingest through HTTP on SQLite and PostgreSQL: the shared vectors' chain, negatives, equivocation, legacy."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests import vectors
from tests.conftest import LEGACY_MAC
from wattwitness.server.db.models import Reading, SecurityEvent
from wattwitness.server.db.session import Database


def chain_items() -> list[dict[str, str]]:
    return [{"record": c["record"], "signature": c["signature"]} for c in vectors.ww2()["chain"]]


def stored_state(db: Database) -> list[tuple[Any, ...]]:
    with db.scope() as session:
        rows = session.scalars(select(Reading).order_by(Reading.boot, Reading.seq))
        return [(r.installation_id, r.boot, r.seq, r.ts, r.power_mw, r.energy_mwh, r.prev, r.signature,
                 r.record_hash, r.status, r.cumulative_mwh) for r in rows]


def security_events(db: Database) -> list[str]:
    with db.scope() as session:
        return [e.kind for e in session.scalars(select(SecurityEvent).order_by(SecurityEvent.id))]


def expected_cumulative() -> list[int]:
    """Lifetime production along the vectors' chain, from the counters in their fields."""
    energies = [c["fields"]["energy_mwh"] for c in vectors.ww2()["chain"]]
    totals = [0]
    for before, now in itertools.pairwise(energies):
        totals.append(totals[-1] + (now - before if now >= before else 0))
    return totals


def test_chain_one_by_one_is_verified(client: TestClient, enrolled_installation: dict[str, Any], db: Database) -> None:
    for index, item in enumerate(chain_items()):
        response = client.post("/api/v1/readings/", json=item)
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["outcome"] == "verified"
        assert body["record"] == item["record"]
        assert body["record_hash"] == vectors.ww2()["chain"][index]["hash"]
        assert body["is_verified"] is True
    state = stored_state(db)
    assert [row[9] for row in state] == ["verified"] * 6
    assert [row[10] for row in state] == expected_cumulative()
    again = client.post("/api/v1/readings/", json=chain_items()[2])
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    assert len(stored_state(db)) == 6

    installation = client.get(f"/api/v1/installations/{enrolled_installation['id']}").json()
    assert installation["reading_count"] == 6
    assert installation["last_boot"] == 2 and installation["last_seq"] == 2
    assert installation["lifetime_energy_wh"] == expected_cumulative()[-1] / 1000
    assert installation["first_reading_at"] == vectors.ww2()["chain"][0]["fields"]["ts"]
    assert installation["boot_started_at"] == vectors.ww2()["chain"][4]["fields"]["ts"]


def test_batch_gives_the_same_state_as_one_by_one(client: TestClient, enrolled_installation: dict[str, Any],
                                                  db: Database) -> None:
    for item in chain_items():
        assert client.post("/api/v1/readings/", json=item).status_code == 201
    one_by_one = stored_state(db)
    with db.scope() as session:
        for row in session.scalars(select(Reading)):
            session.delete(row)

    response = client.post("/api/v1/readings/batch", json={"readings": chain_items()})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [r["outcome"] for r in body["results"]] == ["verified"] * 6
    assert [r["index"] for r in body["results"]] == list(range(6))
    assert all(isinstance(r["reading_id"], int) for r in body["results"])
    assert (body["stored"], body["duplicates"], body["rejected"]) == (6, 0, 0)
    assert stored_state(db) == one_by_one


def test_out_of_order_batch_closes_gaps_and_fixes_totals(client: TestClient, enrolled_installation: dict[str, Any],
                                                         db: Database) -> None:
    items = chain_items()
    first = client.post("/api/v1/readings/batch", json={"readings": [items[0], items[3], items[5]]}).json()
    assert [r["outcome"] for r in first["results"]] == ["verified", "gap", "gap"]
    late = client.post("/api/v1/readings/batch", json={"readings": [items[4], items[1], items[2], items[1]]}).json()
    assert [r["outcome"] for r in late["results"]] == ["verified", "verified", "verified", "duplicate"]
    assert late["results"][3]["reading_id"] == late["results"][1]["reading_id"]
    state = stored_state(db)
    assert [row[9] for row in state] == ["verified"] * 6
    assert [row[10] for row in state] == expected_cumulative()


@pytest.mark.parametrize("negative", range(len(vectors.ww2()["negatives"])))
def test_each_negative_vector_gets_its_outcome(client: TestClient, enrolled_installation: dict[str, Any],
                                               db: Database, negative: int) -> None:
    case = vectors.ww2()["negatives"][negative]
    response = client.post("/api/v1/readings/", json={"record": case["record"], "signature": case["signature"]})
    assert response.status_code == 422, response.text
    assert response.json()["error"] == case["expect"]
    assert stored_state(db) == []
    batch = client.post("/api/v1/readings/batch",
                        json={"readings": [{"record": case["record"], "signature": case["signature"]}]}).json()
    assert batch["results"][0]["outcome"] == case["expect"] and batch["rejected"] == 1
    expected_events = [case["expect"]] * 2 if case["expect"] == "invalid_signature" else []
    assert security_events(db) == expected_events


def test_high_s_signature_is_accepted(client: TestClient, enrolled_installation: dict[str, Any]) -> None:
    high_s = vectors.ww2()["high_s"]
    response = client.post("/api/v1/readings/", json={"record": high_s["record"], "signature": high_s["signature"]})
    assert response.status_code == 201 and response.json()["outcome"] == "verified"


def test_equivocation_is_409_and_a_security_event(client: TestClient, enrolled_installation: dict[str, Any],
                                                  db: Database) -> None:
    items = chain_items()
    for item in items[:3]:
        assert client.post("/api/v1/readings/", json=item).status_code == 201
    case = vectors.ww2()["equivocation"]
    response = client.post("/api/v1/readings/", json={"record": case["record"], "signature": case["signature"]})
    assert response.status_code == 409
    assert response.json()["error"] == "equivocation"
    assert security_events(db) == ["equivocation"]
    assert len(stored_state(db)) == 3


def test_unknown_meter_is_404(client: TestClient) -> None:
    response = client.post("/api/v1/readings/", json=chain_items()[0])
    assert response.status_code == 404
    assert response.json()["error"] == "unknown_meter"


def test_malformed_bodies_are_422_not_500(client: TestClient, enrolled_installation: dict[str, Any]) -> None:
    for body in ({"record": "zz", "signature": "00"}, {"record": 5}, {}, [], {"readings": []}):
        response = client.post("/api/v1/readings/", json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"] == "malformed"
    assert client.post("/api/v1/readings/batch", json={"readings": []}).json()["error"] == "malformed"
    too_many = {"readings": [chain_items()[0]] * 5001}
    assert client.post("/api/v1/readings/batch", json=too_many).status_code == 422


def legacy_body(index: int) -> dict[str, Any]:
    case = vectors.legacy()["readings"][index]
    return {"power": case["power_w"], "total": case["total_wh"], "timestamp": case["timestamp"],
            "signature": case["signature"], "shelly_payload": {"mac": LEGACY_MAC}}


def test_legacy_readings_on_a_legacy_installation(client: TestClient, legacy_installation: dict[str, Any],
                                                  db: Database) -> None:
    for index, case in enumerate(vectors.legacy()["readings"]):
        response = client.post("/api/v1/readings/", json=legacy_body(index))
        if case["expect"] == "digest_only":
            assert response.status_code == 201, response.text
            assert response.json()["status"] == "digest_only"
            assert response.json()["is_verified"] is False
            assert response.json()["record"] is None
        else:
            assert response.status_code == 422
            assert response.json()["error"] == case["expect"]
    again = client.post("/api/v1/readings/", json=legacy_body(0))
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    assert [(row[1], row[2], row[9]) for row in stored_state(db)] == [(0, 1, "digest_only"), (0, 2, "digest_only")]


def test_legacy_readings_are_rejected_on_a_normal_installation(client: TestClient,
                                                               enrolled_installation: dict[str, Any],
                                                               db: Database) -> None:
    body = legacy_body(0)
    body["shelly_payload"] = {"mac": enrolled_installation["shelly_mac"]}
    response = client.post("/api/v1/readings/", json=body)
    assert response.status_code == 422
    assert response.json()["error"] == "malformed"
    assert stored_state(db) == []


def test_ww2_records_are_rejected_on_a_legacy_installation(client: TestClient, admin_headers: dict[str, str]) -> None:
    created = client.post("/api/v1/installations/", headers=admin_headers,
                          json={"name": "old", "shelly_mac": vectors.ww2()["enrollment"]["meter"], "legacy": True})
    assert created.status_code == 201
    response = client.post("/api/v1/readings/", json=chain_items()[0])
    assert response.status_code == 422 and response.json()["error"] == "malformed"


def test_legacy_reading_without_a_mac_finds_the_only_legacy_installation(
        client: TestClient, legacy_installation: dict[str, Any]) -> None:
    body = legacy_body(1)
    del body["shelly_payload"]
    response = client.post("/api/v1/readings/", json=body)
    assert response.status_code == 201 and response.json()["installation_id"] == legacy_installation["id"]
    by_id = {**legacy_body(0), "shelly_payload": None, "installation_id": legacy_installation["id"]}
    assert client.post("/api/v1/readings/", json=by_id).status_code == 201
    missing = client.post("/api/v1/readings/", json={**by_id, "installation_id": 999})
    assert missing.status_code == 404
    latest = client.get(f"/api/v1/readings/latest/{legacy_installation['id']}").json()
    assert (latest["boot"], latest["seq"], latest["total_wh"], latest["power_w"]) == (0, 2, 21700.0, 16.6)
    assert client.get(f"/api/v1/installations/{legacy_installation['id']}").json()["lifetime_energy_wh"] == 12800.0
