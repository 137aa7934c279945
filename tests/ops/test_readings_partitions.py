"""Migration 0005 and the monthly partitions of `readings` (db/partitions.py), on real databases.

Rows written before 0005 (status as text) come through the upgrade unchanged (ids, statuses, every
column) and back through the downgrade; on PostgreSQL they land in their months' partitions, the id
sequence keeps counting; rows before the first month or after the last wait in the open-ended partitions
until `ensure_partitions` gives their months partitions of their own.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import select, text

from wattwitness.server.db.migrate import alembic_config, upgrade
from wattwitness.server.db.models import Installation, Reading
from wattwitness.server.db.partitions import AFTER, BEFORE, MONTHS_AHEAD, Month, ensure_partitions, months_between
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
    """Readings of several months, stored as they came, and two stored today with a device clock never
    set (1970) and one far ahead (2103)."""
    stamps = (now, now - 40 * DAY_S, now - 400 * DAY_S, 5, 4_102_444_800 + 3 * 366 * DAY_S)
    return [{"id": 10 + index, "installation_id": 1, "boot": 1, "seq": index + 1, "ts": ts, "power_mw": 7,
             "energy_mwh": 100 + index, "prev": bytes([index]) * 32, "signature": bytes([index]) * 64,
             "record_hash": bytes([index + 1]) * 32, "status": status, "cumulative_mwh": index,
             "anchor_id": None, "created_at": datetime.fromtimestamp(min(ts, now) if ts > 5 else now, UTC)}
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
                assert homes[13] == BEFORE and homes[14] == AFTER
                months = {name for name in homes.values() if name.startswith("readings_p")}
                assert len(months) == 3
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


def test_months_come_and_their_rows_move_out_of_the_open_ended_partitions(postgres_url: str) -> None:
    upgrade(postgres_url)
    now = int(time.time())
    current, old = Month.of(now), Month.of(now - 200 * DAY_S)
    database = Database(postgres_url)
    try:
        assert _partitions(database) == {BEFORE, AFTER} | {current.following(m).name for m in range(MONTHS_AHEAD + 1)}
        ahead = current.following(MONTHS_AHEAD + 2)
        with database.scope() as session:
            session.add(Installation(name="x", shelly_mac=bytes(6)))
            session.flush()
            session.add_all([_reading(1, 1, old.start_ts + 60), _reading(1, 2, old.start_ts + 120),
                             _reading(1, 3, now), _reading(1, 4, ahead.start_ts + 5)])
        assert _homes(database) == [BEFORE, BEFORE, current.name, AFTER]
        with database.engine.begin() as connection:
            assert ensure_partitions(connection, now=now) == []  # nothing due
            # Earlier months on request (a backfill, a benchmark's history): readings_before is split.
            assert ensure_partitions(connection, now=now, first=old) == months_between(old, current.following(-1))
        assert _homes(database) == [old.name, old.name, current.name, AFTER]
        # Months ahead follow the clock: a call three months on creates the next ones, readings_after is split.
        later = current.following(3)
        with database.engine.begin() as connection:
            created = ensure_partitions(connection, now=later.start_ts)
        assert created == [later.following(m) for m in range(MONTHS_AHEAD + 1)]
        assert _homes(database) == [old.name, old.name, current.name, ahead.name]
        with database.engine.begin() as connection:
            assert ensure_partitions(connection, now=later.start_ts, first=old) == []  # idempotent
    finally:
        database.dispose()


def _partitions(database: Database) -> set[str]:
    with database.engine.connect() as connection:
        return set(connection.scalars(text("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                                           "WHERE i.inhparent = 'readings'::regclass")))


def _homes(database: Database) -> list[str]:
    with database.engine.connect() as connection:
        return list(connection.scalars(text("SELECT tableoid::regclass::text FROM readings ORDER BY seq")))
