"""The anchoring API on the real app (SQLite and PostgreSQL): next batch, anchors, proofs checked on-chain."""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi import encode
from fastapi.testclient import TestClient

from tests.chain.conftest import Device
from wattwitness.chain.embedded import EmbeddedChain
from wattwitness.chain.ledger import REGISTRAR_ROLE, SUBMITTER_ROLE, Connection, Ledger
from wattwitness.chain.listener import catch_up
from wattwitness.chain.relayer import anchor_all
from wattwitness.protocol import merkle_root, verify_inclusion
from wattwitness.server.db.session import Database


def post_readings(client: TestClient, items: list[tuple[bytes, bytes]]) -> list[int]:
    body = {"readings": [{"record": r.hex(), "signature": s.hex()} for r, s in items]}
    response = client.post("/api/v1/readings/batch", json=body)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert all(r["outcome"] == "verified" for r in results), results
    return [r["reading_id"] for r in results]


@pytest.fixture
def onchain(enrolled_installation: dict[str, Any], device: Device):
    chain = EmbeddedChain()
    conn = Connection.to_embedded(chain, 0, confirmations=1)
    ledger = Ledger.deploy(conn, forwarder=chain.accounts[3].address)
    ledger.grant_role(REGISTRAR_ROLE, conn.account.address)
    ledger.grant_role(SUBMITTER_ROLE, conn.account.address)
    ledger.register_installation(enrolled_installation["id"], device.public_key, device.meter,
                                 enrolled_installation["capacity_w"], chain.accounts[1].address)
    return chain, ledger, enrolled_installation["id"]


def test_next_is_the_first_record_then_the_rest(client: TestClient, enrolled_installation, device: Device):
    installation_id = enrolled_installation["id"]
    assert client.get("/api/v1/anchoring/next", params={"installation_id": installation_id}).status_code == 204
    items = device.readings(12)
    ids = post_readings(client, items)
    first = client.get("/api/v1/anchoring/next", params={"installation_id": installation_id}).json()
    assert first["is_baseline"] and first["count"] == 1
    assert first["head_record"] == items[0][0].hex() and first["head_signature"] == items[0][1].hex()
    assert first["merkle_root"] == merkle_root([items[0][0]]).hex()
    assert first["first_reading_id"] == first["head_reading_id"] == ids[0]


def test_unknown_installation_and_bad_query_are_clear_errors(client: TestClient):
    response = client.get("/api/v1/anchoring/next", params={"installation_id": 999})
    assert response.status_code == 404 and response.json()["error"] == "not_found"
    response = client.get("/api/v1/anchoring/next", params={"installation_id": "x"})
    assert response.status_code == 422 and response.json()["error"] == "malformed"
    assert client.get("/api/v1/anchors", params={"installation_id": 999}).status_code == 404
    response = client.get("/api/v1/readings/proof/12345")
    assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_relayed_anchors_are_listed_and_proofs_verify_on_chain(client: TestClient, db: Database, onchain,
                                                               device: Device):
    chain, ledger, installation_id = onchain
    ids = post_readings(client, device.readings(25))
    pending = client.get(f"/api/v1/readings/proof/{ids[5]}")
    assert pending.status_code == 404 and "not anchored" in pending.json()["detail"]

    anchor_all(db, ledger, 8640)
    anchor_all(db, ledger, 8640)
    assert client.get("/api/v1/anchoring/next", params={"installation_id": installation_id}).status_code == 204

    anchors = client.get("/api/v1/anchors", params={"installation_id": installation_id}).json()
    assert [(a["anchor_index"], a["count"]) for a in anchors] == [(1, 24), (0, 1)]
    assert anchors[0]["ledger_address"] == ledger.address and anchors[0]["chain_id"] == chain.w3.eth.chain_id
    assert anchors[0]["tx_hash"].startswith("0x") and anchors[0]["block_number"] > 0

    for reading_id in (ids[0], ids[1], ids[13], ids[-1]):
        proof = client.get(f"/api/v1/readings/proof/{reading_id}").json()
        record = bytes.fromhex(proof["record"])
        path = [bytes.fromhex(p) for p in proof["audit_path"]]
        root = bytes.fromhex(proof["root"])
        assert verify_inclusion(record, proof["leaf_index"], proof["tree_size"], path, root)
        assert ledger.anchor_at(installation_id, proof["anchor"]["anchor_index"]).merkle_root == root
        assert ledger.verify_inclusion(installation_id, proof["anchor"]["anchor_index"], record,
                                       proof["leaf_index"], proof["tree_size"], path)


def test_a_cre_style_submitter_driven_by_the_api_is_recorded_by_the_listener(client: TestClient, db: Database,
                                                                            onchain, device: Device):
    chain, ledger, installation_id = onchain
    post_readings(client, device.readings(18))
    forwarder = ledger.using(Connection.to_embedded(chain, 3))
    for _ in range(2):  # what the CRE workflow does on each cron tick
        nxt = client.get("/api/v1/anchoring/next", params={"installation_id": installation_id}).json()
        report = encode(["uint256", "bytes", "bytes", "bytes32", "uint32"], [
            nxt["installation_id"], bytes.fromhex(nxt["head_record"]), bytes.fromhex(nxt["head_signature"]),
            bytes.fromhex(nxt["merkle_root"]), nxt["count"]])
        forwarder.on_report(b"", report)
        chain.mine(1)
        catch_up(db, ledger, confirmations=1)
    assert client.get("/api/v1/anchoring/next", params={"installation_id": installation_id}).status_code == 204
    anchors = client.get("/api/v1/anchors").json()
    assert [a["count"] for a in anchors] == [17, 1]
    assert anchors[0]["submitted_by"] == chain.accounts[3].address
