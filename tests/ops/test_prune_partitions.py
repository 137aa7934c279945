"""PostgreSQL: `db prune` rebuilds a whole monthly partition instead of deleting rows, and nothing changes.

The three-day history of test_prune.py (10-s stretches, irregular steps, an outage, a reboot, a gap, a
counter reset) is sent for days inside a month two months back, then the device goes on today.
Pruning with a one-day window rebuilds that month's partition (TRUNCATE: a new file, only the kept rows
copied back): no row is deleted one by one, yet every chart, the summary and the integrity report are
exactly what they were, and the kept export still verifies.
"""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from tests.conftest import vector_enrollment_body
from tests.ops.test_prune import _export, _history, _post, _snapshot, assert_same_views
from wattwitness.protocol import verify_chain
from wattwitness.server.db.models import STATUS_DIGEST_ONLY, Installation, Reading, RetentionBaseline
from wattwitness.server.db.partitions import Month, ensure_partitions
from wattwitness.server.db.session import Database
from wattwitness.server.ops.prune import DAY_S, prune_database

MONTH_S = 31 * DAY_S


def _partition_state(db: Database, month: Month) -> tuple[int, int, int]:
    """(file node, live rows, deleted rows as counted by the statistics) of a partition."""
    with db.engine.connect() as connection:
        node = connection.scalar(text("SELECT relfilenode FROM pg_class WHERE relname = :name"), {"name": month.name})
        rows = connection.scalar(text(f"SELECT count(*) FROM {month.name}"))
        connection.execute(text("SELECT pg_stat_force_next_flush()"))
        deleted = connection.scalar(text("SELECT n_tup_del FROM pg_stat_user_tables WHERE relname = :name"),
                                    {"name": month.name})
    return int(node or 0), int(rows or 0), int(deleted or 0)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_prune_rebuilds_a_past_month_and_keeps_every_chart(client: TestClient, db: Database, database_url: str,
                                                           admin_headers: dict[str, str]) -> None:
    enrolled = client.post("/api/v1/installations/", headers=admin_headers,
                           json=vector_enrollment_body(timezone="Asia/Kathmandu"))
    assert enrolled.status_code == 201, enrolled.text
    installation_id, public_key = enrolled.json()["id"], enrolled.json()["public_key"]
    now = int(time.time())
    month = Month.of(now - 2 * MONTH_S)
    start = month.start_ts + 2 * DAY_S
    device, _, _ = _history(client, start)
    end = device.ts
    assert end < month.end_ts
    # The device goes on today: nothing writes to the old month any more.
    _post(client, [device.reading(step_s=now - 3600 - device.ts), *(device.reading() for _ in range(20))])
    # Another installation in the same month that this prune does not judge (legacy: never pruned).
    with db.scope() as session:
        legacy = Installation(name="legacy", shelly_mac=bytes(6), legacy=True)
        session.add(legacy)
        session.flush()
        session.add_all([Reading(installation_id=legacy.id, boot=0, seq=seq, ts=start + seq * 10, power_mw=1,
                                 energy_mwh=seq, prev=None, signature=bytes(64), record_hash=None,
                                 status=STATUS_DIGEST_ONLY, cumulative_mwh=0) for seq in range(1, 101)])
        legacy_id = legacy.id
    with db.engine.begin() as connection:  # the month's partition (the test database began this month)
        ensure_partitions(connection, now=now, first=month)
    node_before, rows_before, _ = _partition_state(db, month)
    before = _snapshot(client, installation_id, start, end)
    total_before = _count(db, installation_id)

    [result, legacy_result] = prune_database(database_url, keep_days=1, now=now)

    node, rows, deleted_one_by_one = _partition_state(db, month)
    assert result.skipped is None and result.deleted == total_before - _count(db, installation_id)
    assert legacy_result.skipped is not None and legacy_result.deleted == 0
    assert node != node_before and deleted_one_by_one == 0  # a new file, not DELETE
    assert rows == rows_before - result.deleted and result.deleted > rows_before * 0.5
    assert_same_views(before, _snapshot(client, installation_id, start, end))
    with db.scope() as session:
        baseline = session.get(RetentionBaseline, installation_id)
        assert baseline is not None and baseline.pruned_total == result.deleted
    verification = client.get(f"/api/v1/readings/{installation_id}/integrity",
                              params={"verify": "full"}).json()["verification"]
    assert verification["complete"] is True and verification["pruned_gaps"] > 0
    report = verify_chain(_export(client, installation_id), bytes.fromhex(public_key))
    assert report.ok and report.invalid == 0 and report.chain_breaks == 0
    assert report.total == _count(db, installation_id)

    assert _count(db, legacy_id) == 100  # in the rebuilt partition, kept whole

    # Same window again: nothing to do, the partition is left alone.
    again = prune_database(database_url, keep_days=1, now=now)
    assert [r.deleted for r in again] == [0, 0] and _partition_state(db, month)[:2] == (node, rows)


def _count(db: Database, installation_id: int) -> int:
    with db.scope() as session:
        return session.scalar(select(func.count()).select_from(Reading)
                              .where(Reading.installation_id == installation_id)) or 0
