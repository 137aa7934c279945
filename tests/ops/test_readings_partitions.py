"""Migration 0005 and the monthly partitions of `readings` (db/partitions.py), on real databases.

Rows written before 0005 (status as text) come through the upgrade unchanged (ids, statuses, every
column) and back through the downgrade; on PostgreSQL they land in their months' partitions, the id
sequence keeps counting, and rows of a month without a partition wait in DEFAULT until
`ensure_partitions` gives them one.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import select, text

from wattwitness.server.db.migrate import alembic_config, upgrade
from wattwitness.server.db.models import Installation, Reading
from wattwitness.server.db.partitions import DEFAULT_PARTITION, MONTHS_AHEAD, Month, ensure_partitions
from wattwitness.server.db.session import Database, create_db_engine

DAY_S = 86_400
STATUSES = ("verified", "gap", "counter_reset", "digest_only", "verified")


def _downgrade(url: str, revision: str) -> None:
    config = alembic_config(url)
    engine = create_db_engine(url)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, revision)
    finally:
        engine.dispose()


def _old_rows(now: int) -> list[dict[str, object]]:
    """Readings of several months, one from 1970 (a device clock never set) and one in 2103."""
    stamps = (now, now - 40 * DAY_S, now - 400 * DAY_S, 5, 4_102_444_800 + 3 * 366 * DAY_S)
    return [{"id": 10 + index, "installation_id": 1, "boot": 1, "seq": index + 1, "ts": ts, "power_mw": 7,
             "energy_mwh": 100 + index, "prev": bytes([index]) * 32, "signature": bytes([index]) * 64,
             "record_hash": bytes([index + 1]) * 32, "status": status, "cumulative_mwh": index,
             "anchor_id": None, "created_at": datetime(2026, 1, 1, tzinfo=UTC)}
            for index, (ts, status) in enumerate(zip(stamps, STATUSES, strict=True))]


def _stored(database: Database) -> list[dict[str, object]]:
    with database.scope() as session:
        rows = session.execute(select(*(getattr(Reading, column) for column in
                                          ("id", "installation_id", "boot", "seq", "ts", "power_mw", "energy_mwh",
                                           "prev", "signature", "record_hash", "status", "cumulative_mwh",
                                           "anchor_id", "created_at"))).order_by(Reading.id))
        return [dict(row._mapping) for row in rows]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_upgrade_keeps_every_row_and_the_downgrade_restores_them(kind: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("sqlite_url" if kind == "sqlite" else "postgres_url")
    now = int(time.time())
    upgrade(url, revision="0004")
    rows = _old_rows(now)
    engine = create_db_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO installations (id, name, shelly_mac, timezone, legacy, is_active, "
                                    "reading_count, created_at) VALUES (1, 'old', :mac, 'UTC', false, true, 5, "
                                    "CURRENT_TIMESTAMP)"), {"mac": bytes(6)})
            columns = ", ".join(rows[0])
            connection.execute(text(f"INSERT INTO readings ({columns}) VALUES "
                                    f"({', '.join(':' + c for c in rows[0])})"), rows)
            if kind == "postgresql":
                connection.execute(text("SELECT setval('readings_id_seq', 14)"))
    finally:
        engine.dispose()

    upgrade(url)
    database = Database(url)
    try:
        assert _stored(database) == rows
        with database.scope() as session:
            assert [session.get(Reading, 11).status, session.get(Reading, 13).status] == ["gap", "digest_only"]
            assert session.scalar(select(Reading.id).where(Reading.status == "counter_reset")) == 12
            if kind == "postgresql":
                assert session.scalar(text("SELECT pg_get_serial_sequence('readings', 'id')")) == \
                    "public.readings_id_seq"
                homes = dict(session.execute(text("SELECT id, tableoid::regclass::text FROM readings")).all())
                assert homes[10] == Month.of(now).name and homes[12] == Month.of(now - 400 * DAY_S).name
                assert homes[13] == "readings_p197001" and homes[14] == Month.of(int(rows[4]["ts"])).name
        with database.scope() as session:
            session.add(Reading(installation_id=1, boot=1, seq=6, ts=now, power_mw=1, energy_mwh=1, prev=None,
                                signature=bytes(64), record_hash=None, status="digest_only", cumulative_mwh=0))
            session.flush()
            assert session.scalars(select(Reading.id).where(Reading.seq == 6)).one() == 15
            session.rollback()
    finally:
        database.dispose()

    _downgrade(url, "0004")
    database = Database(url)
    try:
        with database.engine.connect() as connection:
            statuses = list(connection.scalars(text("SELECT status FROM readings ORDER BY id")))
    finally:
        database.dispose()
    assert statuses == list(STATUSES)
    upgrade(url)  # and up again, from the downgraded table
    database = Database(url)
    try:
        assert _stored(database) == rows
    finally:
        database.dispose()


def _reading(installation_id: int, seq: int, ts: int) -> Reading:
    return Reading(installation_id=installation_id, boot=1, seq=seq, ts=ts, power_mw=1, energy_mwh=seq,
                   prev=bytes(32), signature=bytes(64), record_hash=bytes(32), status="verified", cumulative_mwh=0)


def test_rows_of_a_month_without_partition_wait_in_default_and_move_into_their_partition(postgres_url: str) -> None:
    upgrade(postgres_url)
    now = int(time.time())
    old = now - 200 * DAY_S
    database = Database(postgres_url)
    try:
        with database.engine.connect() as connection:
            existing = {row[0] for row in connection.execute(text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'readings'::regclass"))}
        assert existing == {DEFAULT_PARTITION} | {Month.of(now).following(m).name for m in range(MONTHS_AHEAD + 1)}
        with database.scope() as session:
            session.add(Installation(name="x", shelly_mac=bytes(6)))
            session.flush()
            session.add_all([_reading(1, 1, old), _reading(1, 2, old + 60), _reading(1, 3, now)])
        with database.engine.connect() as connection:
            assert connection.scalar(text(f"SELECT count(*) FROM {DEFAULT_PARTITION}")) == 2
        with database.engine.begin() as connection:
            assert ensure_partitions(connection, now=now) == [Month.of(old)]
        with database.engine.begin() as connection:
            assert ensure_partitions(connection, now=now) == []  # idempotent
            homes = list(connection.execute(text("SELECT seq, tableoid::regclass::text FROM readings ORDER BY seq")))
        assert homes == [(1, Month.of(old).name), (2, Month.of(old).name), (3, Month.of(now).name)]
        # Months ahead follow the clock: a call three months on creates the next ones.
        later = Month.of(now).following(3)
        with database.engine.begin() as connection:
            created = ensure_partitions(connection, now=later.start_ts)
        assert created == [later.following(m) for m in range(MONTHS_AHEAD + 1)]
    finally:
        database.dispose()
