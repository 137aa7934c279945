"""GET /api/v1/readings/{id}/integrity through HTTP on SQLite and PostgreSQL, from real signed records."""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.server.test_energy_history import SignedHistory, enroll, post_all, unix
from wattwitness.protocol import MemoryChainStore, Reading, StoredRecord, check_chain
from wattwitness.server.integrity.schemas import Position
from wattwitness.server.integrity.service import missing_between

T0 = unix(2026, 11, 1, 8)


@cache
def eventful_history() -> tuple[SignedHistory, list[int]]:
    """Boot 1: seq 1-20 with 11-13 lost in transit. Boot 2 (linked): 1-5, its counter reset at seq 3.
    Boot 3: the device lost its chain head (zero prev), seq 1-4. Boot 4: seq 1-2 lost, 3-4 arrive."""
    history = SignedHistory()
    ts = T0
    lost: set[int] = set()
    for seq in range(1, 21):
        history.add(ts, 1_000)
        if seq in (11, 12, 13):
            lost.add(len(history.readings) - 1)
        ts += 10
    history.reboot()
    for seq in range(1, 6):
        if seq == 3:
            history.reset_counter(0)
        history.add(ts, 500)
        ts += 10
    history.reboot(lost_head=True)
    for _ in range(4):
        history.add(ts, 800)
        ts += 10
    history.reboot()
    for seq in range(1, 5):
        history.add(ts, 800)
        if seq in (1, 2):
            lost.add(len(history.readings) - 1)
        ts += 10
    posted = [i for i in range(len(history.readings)) if i not in lost]
    return history, posted


def integrity(client: TestClient, installation_id: int) -> dict[str, Any]:
    response = client.get(f"/api/v1/readings/{installation_id}/integrity")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_counts_gaps_restarts_resets_and_security_events(client: TestClient) -> None:
    history, posted = eventful_history()
    installation_id = enroll(client, history)
    results = post_all(client, [history.items[i] for i in posted])
    assert [r["outcome"] for r in results].count("gap") == 2

    # A tampered record: the signature no longer verifies, a security event of this installation.
    tampered = dict(history.items[0])
    tampered["signature"] = tampered["signature"][:-2] + ("00" if tampered["signature"][-2:] != "00" else "01")
    rejected = client.post("/api/v1/readings/", json=tampered)
    assert rejected.status_code == 422 and rejected.json()["error"] == "invalid_signature"

    body = integrity(client, installation_id)
    assert body["total"] == len(posted) == 28
    assert (body["verified"], body["gap"], body["counter_reset"], body["digest_only"]) == (25, 2, 1, 0)

    in_boot, across_boots = body["gaps"]
    assert in_boot["after"] == {"boot": 1, "seq": 10, "ts": T0 + 90}
    assert in_boot["before"] == {"boot": 1, "seq": 14, "ts": T0 + 130}
    assert (in_boot["missing"], in_boot["missing_exact"]) == (3, True)
    assert (in_boot["from_ts"], in_boot["to_ts"]) == (T0 + 90, T0 + 130)
    assert across_boots["after"]["boot"] == 3 and across_boots["after"]["seq"] == 4
    assert across_boots["before"]["boot"] == 4 and across_boots["before"]["seq"] == 3
    assert (across_boots["missing"], across_boots["missing_exact"]) == (2, False)

    assert [(m["boot"], m["seq"]) for m in body["chain_restarts"]] == [(3, 1)]  # not the key's first record
    assert [(m["boot"], m["seq"]) for m in body["counter_resets"]] == [(2, 3)]
    assert [e["kind"] for e in body["security_events"]] == ["invalid_signature"]
    assert body["security_events"][0]["detail"] and body["security_events"][0]["ts"] > 0


def test_a_gap_that_fills_in_disappears(client: TestClient) -> None:
    history = SignedHistory()
    history.steady(T0, T0 + 600, seed=9, step=10)
    installation_id = enroll(client, history)
    post_all(client, history.items[:10] + history.items[15:])
    assert len(integrity(client, installation_id)["gaps"]) == 1
    post_all(client, history.items[10:15])
    body = integrity(client, installation_id)
    assert body["gaps"] == [] and body["gap"] == 0 and body["verified"] == len(history.items)


def test_empty_and_unknown_installations(client: TestClient) -> None:
    installation_id = enroll(client, SignedHistory())
    body = integrity(client, installation_id)
    assert body["total"] == 0 and body["gaps"] == [] and body["chain_restarts"] == []
    missing = client.get("/api/v1/readings/4242/integrity")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    malformed = client.get("/api/v1/readings/abc/integrity")
    assert malformed.status_code == 422 and malformed.json()["error"] == "malformed"


def test_missing_count_rules() -> None:
    assert missing_between(Position(boot=1, seq=10, ts=0), Position(boot=1, seq=14, ts=0)) == (3, True)
    assert missing_between(Position(boot=1, seq=10, ts=0), Position(boot=2, seq=1, ts=0)) == (1, False)
    assert missing_between(None, Position(boot=5, seq=7, ts=0)) == (6, False)


def test_full_verification_names_gaps_and_tampering_and_respects_the_limit(client: TestClient, db: Any) -> None:
    history, posted = eventful_history()
    installation_id = enroll(client, history)
    post_all(client, [history.items[i] for i in posted])
    response = client.get(f"/api/v1/readings/{installation_id}/integrity", params={"verify": "full"})
    assert response.status_code == 200, response.text
    verification = response.json()["verification"]
    assert verification["checked"] == 28 and verification["complete"] is True and verification["ok"] is False
    assert [(p["outcome"], p["boot"], p["seq"]) for p in verification["problems"]] == [
        ("gap", 1, 14), ("gap", 4, 3)]  # the counter reset and the chain restart are legitimate

    # Someone edits a stored energy value behind the server's back.
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE readings SET energy_mwh = energy_mwh + 1 WHERE installation_id = :i "
                                "AND boot = 2 AND seq = 2"), {"i": installation_id})
    verification = client.get(f"/api/v1/readings/{installation_id}/integrity?verify=full").json()["verification"]
    assert [(p["outcome"], p["boot"], p["seq"]) for p in verification["problems"]] == [
        ("gap", 1, 14), ("record_hash_mismatch", 2, 2), ("invalid_signature", 2, 2), ("gap", 2, 3), ("gap", 4, 3)]
    assert verification["problem_count"] == 5

    partial = client.get(f"/api/v1/readings/{installation_id}/integrity?verify=full&limit=10").json()
    assert partial["verification"]["checked"] == 10 and partial["verification"]["complete"] is False
    assert "verification" not in client.get(f"/api/v1/readings/{installation_id}/integrity").json() or \
        client.get(f"/api/v1/readings/{installation_id}/integrity").json()["verification"] is None
    bad = client.get(f"/api/v1/readings/{installation_id}/integrity?verify=some")
    assert bad.status_code == 422 and bad.json()["error"] == "malformed"


class NaiveChainStore:
    """The ChainStore contract answered the obvious way, by scanning: the reference for the indexed store."""

    def __init__(self) -> None:
        self.records: list[StoredRecord] = []

    def add(self, stored: StoredRecord) -> None:
        self.records.append(stored)

    def get(self, boot: int, seq: int) -> StoredRecord | None:
        return next((s for s in self.records if s.reading.order == (boot, seq)), None)

    def by_hash(self, digest: bytes) -> StoredRecord | None:
        return next((s for s in self.records if s.hash == digest), None)

    def latest_before(self, boot: int, seq: int) -> StoredRecord | None:
        earlier = [s for s in self.records if s.reading.order < (boot, seq)]
        return max(earlier, key=lambda s: s.reading.order) if earlier else None

    def successors(self, stored: StoredRecord) -> list[StoredRecord]:
        return [s for s in self.records
                if s.reading.order == (stored.reading.boot, stored.reading.seq + 1)
                or (s.reading.seq == 1 and s.reading.boot > stored.reading.boot and s.reading.prev == stored.hash)]


def test_indexed_store_answers_like_a_scan() -> None:
    """The protocol's indexed ChainStore gives check_chain the same answers as scanning everything."""
    history, _ = eventful_history()
    stores = (NaiveChainStore(), MemoryChainStore())
    for item in history.items:
        record = bytes.fromhex(item["record"])
        reading = Reading.decode(record)
        verdicts = [check_chain(store, reading, record) for store in stores]
        assert verdicts[0].outcome == verdicts[1].outcome and verdicts[0].detail == verdicts[1].detail
        for store, verdict in zip(stores, verdicts, strict=True):
            store.add(StoredRecord(reading, record, verdict.hash))
