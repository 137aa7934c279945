"""`wattwitness db prune` keeps every chart, the lifetime total and the integrity view exact, on both databases.

Three days of real signed readings go in through the API (10-s stretches, irregular steps from 7 s to
301 s, a two-hour outage, a reboot, a lost record that leaves a gap, a counter reset), for an
installation in Asia/Kathmandu (UTC+05:45, so local hours are not UTC hours). Every chart (hour views
every 30 minutes, day views every 6 hours, week, month and year views every day, over the pruned range,
the kept range and around the cut-off), the installation summary and the integrity report are read
before and after pruning two of the three days; they must be identical. The kept export must still
verify offline, the first kept record must link to the baseline's hash, and late records below the
pruned horizon must be refused rather than stored as gaps.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from tests.conftest import vector_enrollment_body
from tests.ops.signed import Device
from wattwitness.cli import app as cli
from wattwitness.protocol import Reading as SignedReading
from wattwitness.protocol import verify_chain
from wattwitness.server.db.models import Anchor, Reading, RetentionBaseline
from wattwitness.server.db.session import Database
from wattwitness.server.ops.prune import DAY_S, prune_database
from wattwitness.server.readings.store import after as after_order

BATCH = "/api/v1/readings/batch"
FRAMES = {"hour": 1800, "day": 6 * 3600, "week": DAY_S, "month": DAY_S, "year": DAY_S}
IRREGULAR = (7, 13, 37, 61, 290, 301, 10, 10, 10, 123)


def _post(client: TestClient, items: list[dict[str, str]]) -> dict[str, Any]:
    response = client.post(BATCH, json={"readings": items})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _history(client: TestClient, start: int) -> tuple[Device, dict[str, str], list[dict[str, str]]]:
    """Three days of readings; returns the device, the lost (never delivered) record and what was sent."""
    device = Device(ts=start)
    items = [device.reading() for _ in range(4 * 360)]  # 4 h at 10 s
    items += [device.reading(step_s=IRREGULAR[i % len(IRREGULAR)]) for i in range(600)]
    items.append(device.reading(step_s=7200))  # two hours without readings: estimated buckets
    items += [device.reading(step_s=IRREGULAR[i % len(IRREGULAR)]) for i in range(300)]
    device.reboot()
    items += [device.reading() for _ in range(200)]
    lost = device.reading()  # signed, never delivered: the next record is stored as a gap
    items += [device.reading(step_s=IRREGULAR[i % len(IRREGULAR)]) for i in range(400)]
    device.counter_reset(1_000)
    items += [device.reading(step_s=IRREGULAR[(i * 3) % len(IRREGULAR)]) for i in range(400)]
    end = start + 3 * DAY_S
    while device.ts < end - 3600:
        items.append(device.reading(step_s=IRREGULAR[device.seq % len(IRREGULAR)] * 2))
    items += [device.reading() for _ in range(300)]  # the last hour: 10 s again
    for start_index in range(0, len(items), 5000):
        body = _post(client, items[start_index:start_index + 5000])
        assert body["rejected"] == 0, body
    return device, lost, items


def assert_same_views(before: dict[str, Any], after: dict[str, Any]) -> None:
    """The installation summary, the integrity report and every chart are what they were."""
    assert after["summary"] == before["summary"]
    assert after["integrity"] == before["integrity"]
    differing = [key for key in before["charts"] if before["charts"][key] != after["charts"][key]]
    assert differing == [], f"{len(differing)} of {len(before['charts'])} charts changed, e.g. {differing[:3]}"


def _snapshot(client: TestClient, installation_id: int, start: int, end: int) -> dict[str, Any]:
    charts = {}
    for frame, step in FRAMES.items():
        for at in range(start - 3600, end + 3600, step):
            response = client.get(f"/api/v1/readings/{installation_id}/chart",
                                  params={"time_frame": frame, "at": at})
            assert response.status_code == 200, response.text
            charts[(frame, at)] = response.json()
    summary = client.get(f"/api/v1/installations/{installation_id}").json()
    integrity = client.get(f"/api/v1/readings/{installation_id}/integrity").json()
    return {"charts": charts, "summary": summary, "integrity": integrity}


def _export(client: TestClient, installation_id: int) -> list[tuple[bytes, bytes]]:
    response = client.get(f"/api/v1/readings/{installation_id}/export", params={"format": "jsonl"})
    assert response.status_code == 200
    lines = [json.loads(line) for line in response.text.splitlines() if line.strip()]
    return [(bytes.fromhex(item["record"]), bytes.fromhex(item["signature"])) for item in lines]


def _order(item: dict[str, str]) -> tuple[int, int]:
    return SignedReading.decode(bytes.fromhex(item["record"])).order


def _count(db: Database, installation_id: int, *conditions: Any) -> int:
    with db.scope() as session:
        return session.scalar(select(func.count()).select_from(Reading)
                              .where(Reading.installation_id == installation_id, *conditions)) or 0


def test_prune_keeps_every_chart_lifetime_total_and_integrity(client: TestClient, db: Database, database_url: str,
                                                               admin_headers: dict[str, str], tmp_path: Path) -> None:
    enrolled = client.post("/api/v1/installations/", headers=admin_headers,
                           json=vector_enrollment_body(timezone="Asia/Kathmandu"))
    assert enrolled.status_code == 201, enrolled.text
    installation_id = enrolled.json()["id"]
    public_key = enrolled.json()["public_key"]
    now = int(time.time())
    start = now - 3 * DAY_S - 1800
    device, lost, sent = _history(client, start)
    end = device.ts
    before = _snapshot(client, installation_id, start, end)
    assert before["integrity"]["gap"] == 1 and before["integrity"]["counter_reset"] == 1
    assert before["integrity"]["chain_restarts"] == [] and before["summary"]["lifetime_energy_wh"] > 0
    assert any(point["estimated"] for chart in before["charts"].values() for point in chart["data_points"])
    total_before = _count(db, installation_id)
    cutoff = now - DAY_S
    old_before = _count(db, installation_id, Reading.ts < cutoff)

    [result] = prune_database(database_url, keep_days=1, now=now, chunk=700)

    assert result.skipped is None and result.cutoff_ts == cutoff
    kept_old = _count(db, installation_id, Reading.ts < cutoff)
    assert result.deleted == total_before - _count(db, installation_id)
    # Most old readings go (the 10-s stretches keep about 2 in 30); the window is untouched.
    print(f'pruned {result.deleted} of {old_before} old readings, kept {kept_old}')
    assert result.deleted > old_before * 0.5, (result.deleted, old_before, kept_old)
    assert_same_views(before, _snapshot(client, installation_id, start, end))

    # The baseline names the last pruned record; the first record after it still links to that hash.
    with db.scope() as session:
        baseline = session.get(RetentionBaseline, installation_id)
        assert baseline is not None
        assert baseline.pruned_total == baseline.pruned_verified == result.deleted
        assert (baseline.last_boot, baseline.last_seq) == (result.last_boot, result.last_seq)
        assert baseline.last_ts < cutoff
        following = session.scalars(
            select(Reading).where(Reading.installation_id == installation_id, Reading.ts >= cutoff)
            .order_by(Reading.boot, Reading.seq).limit(1)).one()
        assert following.prev == baseline.last_hash
        last = session.scalars(select(Reading).where(Reading.installation_id == installation_id,
                                                     Reading.boot == baseline.last_boot,
                                                     Reading.seq == baseline.last_seq)).one()
        assert last.record_hash == baseline.last_hash  # kept: the window links to it inside the export

    # Full re-verification of the stored rows: what retention deleted is counted apart (pruned_gaps), and
    # the only problem left is the history's own gap (a record the device really lost).
    verification = client.get(f"/api/v1/readings/{installation_id}/integrity",
                              params={"verify": "full"}).json()["verification"]
    assert verification["complete"] is True and verification["checked"] == _count(db, installation_id)
    problems = {(p["outcome"], p["boot"], p["seq"]) for p in verification["problems"]}
    with db.scope() as session:
        stored_gaps = {("gap", row.boot, row.seq) for row in session.scalars(
            select(Reading).where(Reading.installation_id == installation_id, Reading.status == "gap"))}
    assert stored_gaps and problems == stored_gaps
    assert verification["pruned_gaps"] > 0

    # The kept export still verifies offline: every signature valid, pruned stretches show as gaps.
    report = verify_chain(_export(client, installation_id), bytes.fromhex(public_key))
    assert report.ok and report.invalid == 0 and report.chain_breaks == 0
    assert report.total == _count(db, installation_id) and report.gaps > 1
    export = tmp_path / "kept.jsonl"
    export.write_text(client.get(f"/api/v1/readings/{installation_id}/export", params={"format": "jsonl"}).text)
    verified = CliRunner().invoke(cli, ["verify", str(export), "--public-key", public_key])
    assert verified.exit_code == 0, verified.output

    with db.scope() as session:
        stored = {(row.boot, row.seq) for row in session.execute(
            select(Reading.boot, Reading.seq).where(Reading.installation_id == installation_id))}
    deletable = next(item for item in sent if _order(item) not in stored)
    kept = next(item for item in sent if _order(item) in stored)

    # Late records: one never stored and one deleted are refused, not stored as gaps; a kept one is a
    # duplicate; the live chain goes on.
    body = _post(client, [lost, deletable, kept, device.reading()])
    outcomes = [(item["outcome"], item["detail"]) for item in body["results"]]
    assert outcomes[0][0] == "malformed" and "retention window" in outcomes[0][1]
    assert outcomes[1][0] == "malformed" and "retention window" in outcomes[1][1]
    assert outcomes[2][0] == "duplicate"
    assert outcomes[3][0] == "verified"
    assert body["stored"] == 1


def test_prune_twice_with_the_same_window_changes_nothing(client: TestClient, db: Database, database_url: str,
                                                          enrolled_installation: dict[str, Any]) -> None:
    device = Device(ts=int(time.time()) - 2 * DAY_S)
    assert _post(client, [device.reading(step_s=30) for _ in range(3000)])["rejected"] == 0
    now = int(time.time())
    [first] = prune_database(database_url, keep_days=1, now=now)
    assert first.deleted > 0
    remaining = _count(db, enrolled_installation["id"])
    [second] = prune_database(database_url, keep_days=1, now=now)
    assert second.deleted == 0 and second.skipped == "already pruned up to this window"
    assert _count(db, enrolled_installation["id"]) == remaining


def test_cli_prune(client: TestClient, database_url: str, enrolled_installation: dict[str, Any]) -> None:
    runner = CliRunner()
    recent = Device(ts=int(time.time()) - 3600)
    assert _post(client, [recent.reading() for _ in range(20)])["rejected"] == 0
    result = runner.invoke(cli, ["db", "prune", "--keep-days", "30", "--database-url", database_url])
    assert result.exit_code == 0, result.output
    assert f"installation {enrolled_installation['id']}: nothing pruned (no reading older than the window)" \
        in result.output
    missing = runner.invoke(cli, ["db", "prune", "--database-url", database_url],
                            env={"WATTWITNESS_PRUNE_KEEP_DAYS": None})
    assert missing.exit_code == 2 and "--keep-days" in missing.output
    off = runner.invoke(cli, ["db", "prune", "--if-configured", "--database-url", database_url],
                        env={"WATTWITNESS_PRUNE_KEEP_DAYS": None})
    assert off.exit_code == 0 and "retention is off" in off.output
    unknown = runner.invoke(cli, ["db", "prune", "--keep-days", "1", "--installation", "999",
                                  "--database-url", database_url])
    assert unknown.exit_code == 1 and "no installation 999" in unknown.output


def test_prune_stops_at_the_newest_anchored_head(client: TestClient, db: Database, database_url: str,
                                                  enrolled_installation: dict[str, Any]) -> None:
    """Readings the relayer has not anchored yet are never pruned, however old they are."""
    installation_id = enrolled_installation["id"]
    device = Device(ts=int(time.time()) - 3 * DAY_S)
    assert _post(client, [device.reading(step_s=30) for _ in range(2000)])["rejected"] == 0
    with db.scope() as session:
        rows = session.scalars(select(Reading).where(Reading.installation_id == installation_id)
                               .order_by(Reading.boot, Reading.seq)).all()
        head = rows[999]
        anchor = Anchor(installation_id=installation_id, chain_id=31337, ledger_address=bytes(range(20)),
                        anchor_index=0, head_boot=head.boot, head_seq=head.seq, head_hash=head.record_hash or b"",
                        merkle_root=bytes(32), count=1000, energy_mwh=head.cumulative_mwh, tx_hash=bytes(32),
                        block_number=1, submitted_by=bytes(20))
        session.add(anchor)
        head_order: tuple[int, int] = (head.boot, head.seq)
    unanchored_before = _count(db, installation_id, after_order(head_order))

    [result] = prune_database(database_url, keep_days=1, now=int(time.time()))

    assert result.last_boot == head_order[0] and result.last_seq == head_order[1] and result.deleted > 0
    assert _count(db, installation_id, after_order(head_order)) == unanchored_before
    assert _count(db, installation_id, Reading.boot == head_order[0], Reading.seq == head_order[1]) == 1

    # Proofs of the pruned batch: a deleted reading and a kept member of the partly pruned batch are 410 Gone
    # (the anchor stays on chain; the proof needs an export made before pruning), not 404 or 409.
    anchored_ids = [row.id for row in rows[:1000]]
    with db.scope() as session:
        session.execute(update(Reading).where(Reading.id.in_(anchored_ids)).values(anchor_id=anchor.id))
        kept = set(session.scalars(select(Reading.id).where(Reading.id.in_(anchored_ids))))
    deleted = [reading_id for reading_id in anchored_ids if reading_id not in kept]
    assert deleted and kept
    for reading_id in (deleted[0], min(kept)):
        answer = client.get(f"/api/v1/readings/proof/{reading_id}")
        assert answer.status_code == 410 and answer.json()["error"] == "gone", answer.text
    assert client.get(f"/api/v1/readings/proof/{max(anchored_ids) + 10_000}").status_code == 404
