"""Tampering catalogue: edit the database behind the server's back and show that each edit is caught.

A real signed chain (the shared vectors' key and meter) is ingested through the real app on SQLite and
on PostgreSQL; then one named case edits the stored rows with plain SQL, the way a backend operator or
anyone with database access could. Each case names the outcome it must produce, and two independent
checkers must find it:

- `wattwitness verify` on the server's own JSONL export, with the public key the server publishes for
  the installation (what a third-party auditor uses);
- the integrity endpoint re-verifying what it stores (`GET /api/v1/readings/{id}/integrity?verify=full`,
  added for docs/requests-reliability.md R1).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from tests import vectors
from tests.ops.signed import Device
from tests.reliability.helpers import now
from wattwitness.cli import app as cli_app
from wattwitness.protocol import Reading, key_id, public_key_bytes, record_hash, sign
from wattwitness.protocol.keys import private_key_from_scalar
from wattwitness.server.db.models import STATUS_CODES, STATUS_VERIFIED
from wattwitness.server.db.session import Database

CHAIN_LENGTH = 8
# The attacker's own key: valid P-256, never registered for this installation.
ATTACKER_KEY = private_key_from_scalar(0xA77AC4E5 * 0x1000_0000_0000_0001)


@dataclass(frozen=True)
class Tamper:
    """One way of editing the database, and what a checker must say about it."""

    name: str
    edit: Callable[[Database, int], None]
    outcome: str  # the PROTOCOL.md §4 outcome a verifier must name
    at_seq: tuple[int, ...]  # the (boot 1) seq numbers the verifier must point at


def _sql(database: Database, statement: str, **params: Any) -> None:
    with database.engine.begin() as connection:
        result = connection.execute(text(statement), params)
        assert result.rowcount != 0, f"tamper statement changed nothing: {statement}"


def _change(column: str, delta: int) -> Callable[[Database, int], None]:
    def edit(database: Database, installation_id: int) -> None:
        _sql(database, f"UPDATE readings SET {column} = {column} + :delta WHERE installation_id = :i AND seq = 4",
             delta=delta, i=installation_id)
    return edit


def _delete(database: Database, installation_id: int) -> None:
    _sql(database, "DELETE FROM readings WHERE installation_id = :i AND seq = 4", i=installation_id)


def _swap(database: Database, installation_id: int) -> None:
    # Swap the positions of two stored readings (seq 3 <-> seq 5); a spare seq avoids the unique index.
    for old, new in ((3, 1_000_000), (5, 3), (1_000_000, 5)):
        _sql(database, "UPDATE readings SET seq = :new WHERE installation_id = :i AND seq = :old",
             new=new, old=old, i=installation_id)


def _forge(database: Database, installation_id: int) -> None:
    # A well-formed next record, linked to the stored head, signed by a key that is not the device's.
    with database.engine.connect() as connection:
        head = connection.execute(text(
            "SELECT ts, energy_mwh, record_hash, cumulative_mwh FROM readings WHERE installation_id = :i "
            "ORDER BY boot DESC, seq DESC LIMIT 1"), {"i": installation_id}).one()
    forged = Reading(vectors.meter(), 1, CHAIN_LENGTH + 1, head.ts + 10, 9_000_000_000, head.energy_mwh + 5_000_000,
                     head.record_hash)
    record = forged.encode()
    _sql(database, "INSERT INTO readings (installation_id, boot, seq, ts, power_mw, energy_mwh, prev, signature, "
                   "record_hash, status, cumulative_mwh, created_at) VALUES (:i, 1, :seq, :ts, :power, :energy, "
                   ":prev, :sig, :hash, :verified, :cum, CURRENT_TIMESTAMP)", verified=STATUS_CODES[STATUS_VERIFIED],
         i=installation_id, seq=forged.seq, ts=forged.ts, power=forged.power_mw, energy=forged.energy_mwh,
         prev=forged.prev, sig=sign(ATTACKER_KEY, record), hash=record_hash(record), cum=head.cumulative_mwh + 1)


def _replace_key(database: Database, installation_id: int) -> None:
    new_key = public_key_bytes(ATTACKER_KEY)
    _sql(database, "UPDATE installations SET public_key = :key, key_id = :kid WHERE id = :i",
         key=new_key, kid=key_id(new_key), i=installation_id)


CATALOGUE = [
    Tamper("power_changed", _change("power_mw", 1_000_000), "invalid_signature", (4,)),
    Tamper("energy_changed", _change("energy_mwh", 50_000), "invalid_signature", (4,)),
    Tamper("time_changed", _change("ts", -3600), "invalid_signature", (4,)),
    Tamper("reading_deleted", _delete, "gap", (5,)),
    Tamper("readings_swapped", _swap, "invalid_signature", (3, 5)),
    Tamper("forged_reading_inserted", _forge, "invalid_signature", (CHAIN_LENGTH + 1,)),
    Tamper("public_key_replaced", _replace_key, "invalid_signature", tuple(range(1, CHAIN_LENGTH + 1))),
]


@pytest.fixture
def signed_chain(client: TestClient, enrolled_installation: dict[str, Any]) -> dict[str, Any]:
    """CHAIN_LENGTH readings of one boot, stored through the batch API: the installation JSON."""
    device = Device(ts=now() - 3600)
    items = [device.reading() for _ in range(CHAIN_LENGTH)]
    response = client.post("/api/v1/readings/batch", json={"readings": items})
    assert response.status_code == 200, response.text
    assert response.json()["stored"] == CHAIN_LENGTH
    return enrolled_installation


def _verify_export(client: TestClient, installation_id: int, tmp_path: Path) -> tuple[int, str, list[int]]:
    """(exit code, output, seq per export line) of `wattwitness verify` on the server's export, with
    the key the server publishes for the installation."""
    export = client.get(f"/api/v1/readings/{installation_id}/export?format=jsonl")
    assert export.status_code == 200, export.text
    path = tmp_path / "export.jsonl"
    path.write_text(export.text)
    public_key = client.get(f"/api/v1/installations/{installation_id}").json()["public_key"]
    result = CliRunner().invoke(cli_app, ["verify", str(path), "--public-key", public_key])
    seqs = []
    for line in export.text.splitlines():
        record = bytes.fromhex(json.loads(line)["record"])
        seqs.append(int.from_bytes(record[14:18], "big"))
    return result.exit_code, result.output, seqs


def test_untampered_chain_verifies(client: TestClient, signed_chain: dict[str, Any], tmp_path: Path) -> None:
    code, output, _ = _verify_export(client, signed_chain["id"], tmp_path)
    assert code == 0, output
    assert f"{CHAIN_LENGTH} records: {CHAIN_LENGTH} verified, 0 invalid, 0 gaps, 0 chain breaks" in output


@pytest.mark.parametrize("case", CATALOGUE, ids=[case.name for case in CATALOGUE])
def test_verify_catches_tampering(client: TestClient, signed_chain: dict[str, Any], db: Database,
                                  tmp_path: Path, case: Tamper) -> None:
    case.edit(db, signed_chain["id"])
    code, output, seqs = _verify_export(client, signed_chain["id"], tmp_path)
    flagged = []
    for line in output.splitlines():
        if line.startswith("line ") and f": {case.outcome}:" in line:
            flagged.append(seqs[int(line.split()[1].rstrip(":")) - 1])
    assert sorted(flagged) == sorted(case.at_seq), output
    if case.outcome == "gap":
        # A gap is not proof of tampering (a device can lose records), so verify reports it and still
        # exits 0; the summary must say so.
        assert "1 gaps" in output, output
    else:
        assert code == 1, output


def test_verify_never_counts_legacy_readings_as_verified(client: TestClient, legacy_installation: dict[str, Any],
                                                         db: Database, tmp_path: Path) -> None:
    """legacy_flipped_to_verified: the database says `verified`, the export still carries no signed record."""
    from tests.server.test_readings_ingest import legacy_body

    for index in (0, 1):
        assert client.post("/api/v1/readings/", json=legacy_body(index)).status_code == 201
    _sql(db, "UPDATE readings SET status = :verified WHERE installation_id = :i", i=legacy_installation["id"],
         verified=STATUS_CODES[STATUS_VERIFIED])
    export = client.get(f"/api/v1/readings/{legacy_installation['id']}/export?format=jsonl")
    path = tmp_path / "legacy.jsonl"
    path.write_text(export.text)
    result = CliRunner().invoke(cli_app, ["verify", str(path), "--public-key", vectors.ww2()["key"]["public"]])
    assert result.exit_code == 1, result.output
    assert "2 records: 0 verified, 2 invalid" in result.output


def _full_integrity(client: TestClient, installation_id: int) -> dict[str, Any]:
    response = client.get(f"/api/v1/readings/{installation_id}/integrity", params={"verify": "full"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body.get("verification") is not None, "the integrity endpoint did not re-verify stored readings"
    verification: dict[str, Any] = body["verification"]
    return verification


def test_integrity_full_passes_untampered_chain(client: TestClient, signed_chain: dict[str, Any]) -> None:
    verification = _full_integrity(client, signed_chain["id"])
    assert verification["ok"] is True
    assert verification["checked"] == CHAIN_LENGTH
    assert verification["problems"] == []


@pytest.mark.parametrize("case", CATALOGUE, ids=[case.name for case in CATALOGUE])
def test_integrity_catches_tampering(client: TestClient, signed_chain: dict[str, Any], db: Database,
                                     case: Tamper) -> None:
    case.edit(db, signed_chain["id"])
    verification = _full_integrity(client, signed_chain["id"])
    assert verification["ok"] is False
    flagged = sorted(p["seq"] for p in verification["problems"] if p["outcome"] == case.outcome)
    assert flagged == sorted(case.at_seq), verification


def test_integrity_catches_legacy_flipped_to_verified(client: TestClient, legacy_installation: dict[str, Any],
                                                      db: Database) -> None:
    from tests.server.test_readings_ingest import legacy_body

    for index in (0, 1):
        assert client.post("/api/v1/readings/", json=legacy_body(index)).status_code == 201
    _sql(db, "UPDATE readings SET status = :verified WHERE installation_id = :i", i=legacy_installation["id"],
         verified=STATUS_CODES[STATUS_VERIFIED])
    verification = _full_integrity(client, legacy_installation["id"])
    assert verification["ok"] is False
    assert [p["outcome"] for p in verification["problems"]] == ["digest_only", "digest_only"], verification
