"""Backup and restore through the running server, on SQLite and PostgreSQL.

Real signed WW2 records go in through the API (a normal chain, a reboot, a gap and a counter reset),
anchors are recorded, the database is backed up while the server keeps serving, changed afterwards, and
restored while the server keeps serving. Then every stored row (readings, chain, anchors, everything
else), the API's views, and `wattwitness verify` over the restored export must be exactly as before.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner

from tests.ops.signed import Device
from wattwitness.cli import app as cli
from wattwitness.server.db.models import Anchor, Base, Reading
from wattwitness.server.db.session import Database

BATCH = "/api/v1/readings/batch"


def _history(client: TestClient, installation_id: int) -> Device:
    device = Device(ts=int(time.time()) - 3600)
    first = [device.reading() for _ in range(20)]
    device.reboot()
    second = [device.reading() for _ in range(10)]
    lost = device.reading()  # signed but never delivered: the next one is stored as a gap
    assert lost
    after_gap = [device.reading() for _ in range(5)]
    device.counter_reset(500)
    after_reset = [device.reading() for _ in range(5)]
    for items in (first, second, after_gap, after_reset):
        response = client.post(BATCH, json={"readings": items}, headers={"X-WattWitness-Outbox-Depth": "0"})
        assert response.status_code == 200, response.text
        assert response.json()["rejected"] == 0
    return device


def _anchor(db: Database, installation_id: int) -> None:
    """Two anchors as the chain listener records them, covering the first boot and part of the second."""
    with db.scope() as session:
        readings = session.scalars(select(Reading).where(Reading.installation_id == installation_id)
                                   .order_by(Reading.boot, Reading.seq)).all()
        for index, (start, end) in enumerate(((0, 20), (20, 28))):
            covered = readings[start:end]
            head = covered[-1]
            anchor = Anchor(installation_id=installation_id, chain_id=31337, ledger_address=bytes(range(20)),
                            anchor_index=index, head_boot=head.boot, head_seq=head.seq,
                            head_hash=head.record_hash or b"", merkle_root=bytes([index + 1]) * 32,
                            count=len(covered), energy_mwh=head.cumulative_mwh - covered[0].cumulative_mwh,
                            tx_hash=bytes([0xA0 + index]) * 32, block_number=100 + index,
                            submitted_by=bytes([7]) * 20)
            session.add(anchor)
            session.flush()
            session.execute(update(Reading).where(Reading.id.in_([r.id for r in covered])).values(anchor_id=anchor.id))


def _all_rows(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    with db.engine.connect() as connection:
        return {
            table.name: [tuple(row) for row in connection.execute(
                select(table).order_by(*table.primary_key.columns))]
            for table in Base.metadata.sorted_tables
        }


def _views(client: TestClient, installation_id: int, at: int) -> dict[str, Any]:
    paths = {
        "installation": f"/api/v1/installations/{installation_id}",
        "readings": f"/api/v1/readings/{installation_id}?limit=1000",
        "integrity": f"/api/v1/readings/{installation_id}/integrity",
        "export": f"/api/v1/readings/{installation_id}/export?format=jsonl",
        "anchors": f"/api/v1/anchors?installation_id={installation_id}",
        "chart_hour": f"/api/v1/readings/{installation_id}/chart?time_frame=hour&at={at}",
        "chart_day": f"/api/v1/readings/{installation_id}/chart?time_frame=day&at={at}",
        "chart_year": f"/api/v1/readings/{installation_id}/chart?time_frame=year&at={at}",
    }
    views = {}
    for name, path in paths.items():
        response = client.get(path)
        assert response.status_code == 200, (path, response.text)
        views[name] = response.text if name == "export" else response.json()
    return views


def _verify(export: str, public_key: str, tmp_path: Path) -> str:
    path = tmp_path / "restored-export.jsonl"
    path.write_text(export)
    result = CliRunner().invoke(cli, ["verify", "--public-key", public_key, str(path)])
    assert result.exit_code == 0, result.stdout
    return result.stdout


def test_backup_and_restore_while_serving(client: TestClient, db: Database, database_url: str,
                                          enrolled_installation: dict[str, Any], tmp_path: Path) -> None:
    installation_id = enrolled_installation["id"]
    device = _history(client, installation_id)
    _anchor(db, installation_id)
    at = device.ts  # the charts around the history's end
    rows_before, views_before = _all_rows(db), _views(client, installation_id, at)
    assert len(rows_before["readings"]) == 40 and len(rows_before["anchors"]) == 2
    assert {r["status"] for r in views_before["readings"]["readings"]} == {"verified", "gap", "counter_reset"}
    assert len(views_before["anchors"]) == 2 and views_before["chart_day"]["total_energy_mwh"] > 0

    saved = tmp_path / ("saved.db" if database_url.startswith("sqlite") else "saved.pgdump")
    result = CliRunner().invoke(cli, ["db", "backup", str(saved), "--database-url", database_url])
    assert result.exit_code == 0, result.stdout + result.stderr

    # Life goes on after the backup: more readings, and someone deletes an anchor.
    later = [device.reading() for _ in range(7)]
    assert client.post(BATCH, json={"readings": later}).json()["stored"] == 7
    with db.scope() as session:
        session.execute(update(Reading).values(anchor_id=None))
        session.query(Anchor).filter(Anchor.anchor_index == 1).delete()
    assert _all_rows(db) != rows_before

    result = CliRunner().invoke(cli, ["db", "restore", str(saved), "--database-url", database_url])
    assert result.exit_code == 0, result.stdout + result.stderr

    # The same running server (same engine, same pooled connections) now serves the backup's state.
    assert _all_rows(db) == rows_before
    assert _views(client, installation_id, at) == views_before
    summary = _verify(views_before["export"], enrolled_installation["public_key"], tmp_path)
    assert summary.strip().splitlines()[-1].startswith("40 records:")

    # And it keeps working: the readings made after the backup arrive again and are stored once.
    response = client.post(BATCH, json={"readings": later})
    assert response.status_code == 200 and response.json()["stored"] == 7, response.text
    assert client.get(f"/api/v1/installations/{installation_id}").json()["reading_count"] == 47
