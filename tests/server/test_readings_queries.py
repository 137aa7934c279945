"""Readings after ingest, through HTTP on SQLite and PostgreSQL: lifetime totals across resets and late
records, chain rules, pages, latest, and exports that `wattwitness verify` accepts."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner

from tests import vectors
from tests.server.signing import signed_chain, vector_key
from wattwitness.cli import app as cli_app
from wattwitness.protocol import Reading, sign
from wattwitness.server.db.models import Anchor as AnchorRow
from wattwitness.server.db.models import Reading as ReadingRow
from wattwitness.server.db.models import SecurityEvent
from wattwitness.server.db.session import Database

METER = bytes.fromhex(vectors.ww2()["enrollment"]["meter"])
NOW = int(time.time())


def wire(record: bytes) -> dict[str, str]:
    return {"record": record.hex(), "signature": sign(vector_key(), record).hex()}


def post_batch(client: TestClient, items: list[dict[str, str]]) -> dict[str, Any]:
    response = client.post("/api/v1/readings/batch", json={"readings": items})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def all_readings(client: TestClient, installation_id: int) -> list[dict[str, Any]]:
    readings: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 7}
        if cursor:
            params["cursor"] = cursor
        page = client.get(f"/api/v1/readings/{installation_id}", params=params).json()
        readings += page["readings"]
        cursor = page["next_cursor"]
        if cursor is None:
            return readings


def test_lifetime_totals_across_resets_and_late_records(client: TestClient,
                                                        enrolled_installation: dict[str, Any]) -> None:
    # Counter in mWh: rises, resets to 100 (meter replaced), rises; a reboot at index 6.
    energies = [1_000, 1_500, 2_500, 2_500, 100, 400, 900, 1_900]
    items = signed_chain(vector_key(), METER, energies, start_ts=NOW - 1000, new_boot_at=[6])
    first = post_batch(client, [items[i] for i in (0, 1, 5, 6, 7)])
    assert [r["outcome"] for r in first["results"]] == ["verified", "verified", "gap", "verified", "verified"]
    late = post_batch(client, [items[i] for i in (3, 2, 4)])
    assert [r["outcome"] for r in late["results"]] == ["gap", "verified", "counter_reset"]

    readings = sorted(all_readings(client, enrolled_installation["id"]), key=lambda r: (r["boot"], r["seq"]))
    assert [(r["boot"], r["seq"]) for r in readings] == [(1, i) for i in range(1, 7)] + [(2, 1), (2, 2)]
    assert [r["status"] for r in readings] == ["verified"] * 4 + ["counter_reset"] + ["verified"] * 3
    # 500 + 1000 + 0, reset credits nothing, then 300 + 500 + 1000.
    assert [round(r["cumulative_wh"] * 1000) for r in readings] == [0, 500, 1500, 1500, 1500, 1800, 2300, 3300]
    installation = client.get(f"/api/v1/installations/{enrolled_installation['id']}").json()
    assert installation["lifetime_energy_wh"] == 3.3
    assert installation["reading_count"] == 8


def test_chain_break_future_timestamp_and_gap(client: TestClient, enrolled_installation: dict[str, Any],
                                             db: Database) -> None:
    items = signed_chain(vector_key(), METER, [10, 20, 30], start_ts=NOW - 100)
    post_batch(client, items[:2])
    # A record at (1, 3) whose prev is not the stored (1, 2): the key's history forks.
    forged = Reading(METER, 1, 3, NOW - 80, 0, 30, prev=bytes(31) + b"\x01").encode()
    response = client.post("/api/v1/readings/", json=wire(forged))
    assert response.status_code == 409 and response.json()["error"] == "chain_break"
    with db.scope() as session:
        events = list(session.scalars(select(SecurityEvent)))
    assert [(e.kind, e.installation_id, e.client) for e in events] == [
        ("chain_break", enrolled_installation["id"], "testclient")]

    future = Reading(METER, 5, 1, NOW + 3600, 0, 40).encode()
    response = client.post("/api/v1/readings/", json=wire(future))
    assert response.status_code == 422 and response.json()["error"] == "future_timestamp"

    later = signed_chain(vector_key(), METER, [50, 60], start_ts=NOW - 50, boot=7, prev=bytes(31) + b"\x02")
    response = client.post("/api/v1/readings/", json=later[0])
    assert response.status_code == 201 and response.json()["outcome"] == "gap"
    assert response.json()["is_verified"] is False
    assert client.post("/api/v1/readings/", json=items[2]).json()["outcome"] == "verified"
    with db.scope() as session:
        assert len(list(session.scalars(select(SecurityEvent)))) == 1  # future and gap are not security events


def test_pages_newest_first_with_cursor_and_time_window(client: TestClient,
                                                        enrolled_installation: dict[str, Any]) -> None:
    start = NOW - 10_000
    items = signed_chain(vector_key(), METER, list(range(0, 25_000, 1000)), start_ts=start)
    post_batch(client, items)
    iid = enrolled_installation["id"]
    readings = all_readings(client, iid)
    assert [r["seq"] for r in readings] == list(range(25, 0, -1))
    assert len({r["id"] for r in readings}) == 25
    assert readings[0]["record"] == items[-1]["record"] and readings[0]["signature"] == items[-1]["signature"]
    assert {r["installation_id"] for r in readings} == {iid}
    assert all(r["is_on_chain"] is False and r["blockchain_tx_hash"] is None for r in readings)

    window = client.get(f"/api/v1/readings/{iid}", params={"since": start + 50, "until": start + 100}).json()
    assert [r["timestamp"] for r in window["readings"]] == [start + t for t in (100, 90, 80, 70, 60, 50)]
    assert window["next_cursor"] is None

    latest = client.get(f"/api/v1/readings/latest/{iid}").json()
    assert (latest["boot"], latest["seq"], latest["total_wh"]) == (1, 25, 24.0)

    assert client.get(f"/api/v1/readings/{iid}", params={"limit": 1001}).status_code == 422
    bad_cursor = client.get(f"/api/v1/readings/{iid}", params={"cursor": "!!!"})
    assert bad_cursor.status_code == 422 and bad_cursor.json()["error"] == "malformed"
    assert client.get("/api/v1/readings/424242").status_code == 404


def test_latest_of_an_installation_without_readings_is_404(client: TestClient,
                                                           enrolled_installation: dict[str, Any]) -> None:
    response = client.get(f"/api/v1/readings/latest/{enrolled_installation['id']}")
    assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_jsonl_export_passes_the_offline_verifier(client: TestClient, enrolled_installation: dict[str, Any],
                                                  tmp_path: Path) -> None:
    items = signed_chain(vector_key(), METER, [i * 700 for i in range(30)], start_ts=NOW - 600,
                         new_boot_at=[12, 20])
    post_batch(client, list(reversed(items)))
    iid = enrolled_installation["id"]
    response = client.get(f"/api/v1/readings/{iid}/export", params={"format": "jsonl"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert lines == items  # (boot, seq) order, exactly {"record", "signature"}
    export = tmp_path / "export.jsonl"
    export.write_text(response.text)
    result = CliRunner().invoke(cli_app, ["verify", "--public-key", vectors.ww2()["key"]["public"], str(export)])
    assert result.exit_code == 0, result.output
    assert "30 records: 30 verified, 0 invalid, 0 gaps, 0 chain breaks" in result.output

    window = client.get(f"/api/v1/readings/{iid}/export", params={"since": NOW - 600 + 100, "until": NOW - 600 + 150})
    assert [json.loads(line) for line in window.text.splitlines()] == items[10:16]


def test_csv_export(client: TestClient, enrolled_installation: dict[str, Any]) -> None:
    chain = [{"record": c["record"], "signature": c["signature"]} for c in vectors.ww2()["chain"]]
    post_batch(client, chain)
    response = client.get(f"/api/v1/readings/{enrolled_installation['id']}/export", params={"format": "csv"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["record"] for r in rows] == [c["record"] for c in chain]
    assert [r["record_hash"] for r in rows] == [c["hash"] for c in vectors.ww2()["chain"]]
    assert rows[2]["power_w"] == "1523.11" and rows[2]["total_wh"] == "12.987"
    assert client.get(f"/api/v1/readings/{enrolled_installation['id']}/export",
                      params={"format": "xml"}).status_code == 422
    assert client.get("/api/v1/readings/4242/export").status_code == 404


def test_anchored_readings_show_their_transaction(client: TestClient, enrolled_installation: dict[str, Any],
                                                  db: Database) -> None:
    chain = [{"record": c["record"], "signature": c["signature"]} for c in vectors.ww2()["chain"]]
    ids = [r["reading_id"] for r in post_batch(client, chain)["results"]]
    with db.scope() as session:
        anchor = AnchorRow(installation_id=enrolled_installation["id"], chain_id=31337, ledger_address=b"\x11" * 20,
                           anchor_index=0, head_boot=1, head_seq=3, head_hash=bytes.fromhex(vectors.ww2()["chain"][2]
                                                                                           ["hash"]),
                           merkle_root=b"\x22" * 32, count=3, energy_mwh=0, tx_hash=b"\xab" * 32, block_number=42)
        session.add(anchor)
        session.flush()
        session.execute(update(ReadingRow).where(ReadingRow.id.in_(ids[:3])).values(anchor_id=anchor.id))
    page = client.get(f"/api/v1/readings/{enrolled_installation['id']}").json()["readings"]
    on_chain = {r["seq"]: (r["is_on_chain"], r["blockchain_tx_hash"], r["blockchain_block_number"])
                for r in page if r["boot"] == 1}
    assert on_chain == {1: (True, "0x" + "ab" * 32, 42), 2: (True, "0x" + "ab" * 32, 42),
                        3: (True, "0x" + "ab" * 32, 42), 4: (False, None, None)}
    latest = client.get(f"/api/v1/readings/latest/{enrolled_installation['id']}").json()
    assert latest["is_on_chain"] is False

