"""Backup and restore mechanics and their error messages, on hand-made databases (no server needed).

The full round trip through the real server, its readings and `wattwitness verify` is in
test_backup_roundtrip.py; this file pins the file handling: online copies, format checks, clear errors.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import pytest

from tests.ports import free_port
from wattwitness.server.ops.backup import backup, backup_kind, restore
from wattwitness.server.ops.errors import OpsError


def _make_sqlite(path: Path, rows: int) -> None:
    with closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        db.execute("INSERT INTO alembic_version VALUES ('rev_a')")
        db.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, payload BLOB)")
        db.executemany("INSERT INTO item (payload) VALUES (?)", [(bytes([i % 256]) * 64,) for i in range(rows)])
        db.commit()


def _count(path: Path) -> int:
    with closing(sqlite3.connect(path)) as db:
        return db.execute("SELECT count(*) FROM item").fetchone()[0]


def test_sqlite_backup_is_consistent_while_a_writer_keeps_writing(tmp_path: Path) -> None:
    live = tmp_path / "live.db"
    _make_sqlite(live, 2000)
    stop = threading.Event()

    def writer() -> None:
        with closing(sqlite3.connect(live, timeout=30)) as db:
            while not stop.is_set():
                db.execute("INSERT INTO item (payload) VALUES (?)", (b"w" * 64,))
                db.commit()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        result = backup(f"sqlite:///{live}", tmp_path / "copy.db")
    finally:
        stop.set()
        thread.join()
    assert result.kind == "sqlite" and result.revision == "rev_a"
    copied = _count(tmp_path / "copy.db")
    assert 2000 <= copied <= _count(live)
    assert backup_kind(tmp_path / "copy.db") == "sqlite"
    assert not list(tmp_path.glob("*.partial"))


def test_sqlite_restore_replaces_the_live_database_under_an_open_connection(tmp_path: Path) -> None:
    live, saved = tmp_path / "live.db", tmp_path / "saved.db"
    _make_sqlite(live, 10)
    backup(f"sqlite:///{live}", saved)
    with closing(sqlite3.connect(live)) as server_connection:
        server_connection.execute("INSERT INTO item (payload) VALUES (x'00')")
        server_connection.commit()
        assert server_connection.execute("SELECT count(*) FROM item").fetchone()[0] == 11
        restore(f"sqlite:///{live}", saved)
        # The connection the "server" kept open sees the restored contents.
        assert server_connection.execute("SELECT count(*) FROM item").fetchone()[0] == 10
        assert server_connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_sqlite_restore_onto_a_new_machine_creates_the_database(tmp_path: Path) -> None:
    live, saved, fresh = tmp_path / "live.db", tmp_path / "saved.db", tmp_path / "new-machine" / "wattwitness.db"
    _make_sqlite(live, 25)
    backup(f"sqlite:///{live}", saved)
    with pytest.raises(OpsError, match=r"directory .*new-machine.* does not exist"):
        restore(f"sqlite:///{fresh}", saved)
    fresh.parent.mkdir()
    assert restore(f"sqlite:///{fresh}", saved).revision == "rev_a"
    assert _count(fresh) == 25


def test_sqlite_errors_are_clear(tmp_path: Path) -> None:
    live = tmp_path / "live.db"
    _make_sqlite(live, 1)
    url = f"sqlite:///{live}"
    with pytest.raises(OpsError, match="does not exist"):
        restore(url, tmp_path / "missing.db")
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a backup")
    with pytest.raises(OpsError, match="unrecognised backup; the configured database is SQLite"):
        restore(url, text_file)
    pg_like = tmp_path / "dump.pgdump"
    pg_like.write_bytes(b"PGDMP\x01\x0e\x00")
    with pytest.raises(OpsError, match="is a postgresql backup"):
        restore(url, pg_like)
    foreign = tmp_path / "foreign.db"
    with closing(sqlite3.connect(foreign)) as db:
        db.execute("CREATE TABLE t (x)")
    with pytest.raises(OpsError, match="not a WattWitness database"):
        restore(url, foreign)
    with pytest.raises(OpsError, match="not a WattWitness database"):
        backup(f"sqlite:///{foreign}", tmp_path / "b.db")
    with pytest.raises(OpsError, match="does not exist"):
        backup(url, tmp_path / "no-such-dir" / "b.db")
    with pytest.raises(OpsError, match="does not exist"):
        backup(f"sqlite:///{tmp_path / 'absent.db'}", tmp_path / "b.db")
    with pytest.raises(OpsError, match="is a directory"):
        backup(url, tmp_path)
    with pytest.raises(OpsError, match="unsupported database backend"):
        backup("mysql://u@h/db", tmp_path / "b.db")
    assert _count(live) == 1  # nothing above touched the live database


def test_postgres_unreachable_and_wrong_format_are_clear(tmp_path: Path, postgres_url: str) -> None:
    unreachable = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing"
    with pytest.raises(OpsError, match="unreachable"):
        backup(unreachable, tmp_path / "b.pgdump")
    sqlite_file = tmp_path / "live.db"
    _make_sqlite(sqlite_file, 1)
    with pytest.raises(OpsError, match="is a sqlite backup; the configured database is PostgreSQL"):
        restore(postgres_url, sqlite_file)
    with pytest.raises(OpsError, match="not a WattWitness database"):
        backup(postgres_url, tmp_path / "b.pgdump")  # the scratch database has no schema yet
    assert not (tmp_path / "b.pgdump").exists()


def test_postgres_round_trip_under_an_open_connection(tmp_path: Path, postgres_url: str) -> None:
    import psycopg

    libpq = postgres_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(libpq, autocommit=True) as db:
        db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        db.execute("INSERT INTO alembic_version VALUES ('rev_a')")
        db.execute("CREATE TABLE item (id SERIAL PRIMARY KEY, payload BYTEA)")
        db.execute("INSERT INTO item (payload) SELECT decode(md5(g::text), 'hex') FROM generate_series(1, 50) g")
        saved = tmp_path / "saved.pgdump"
        result = backup(postgres_url, saved)
        assert result.kind == "postgresql" and result.revision == "rev_a" and backup_kind(saved) == "postgresql"
        before = db.execute("SELECT id, payload FROM item ORDER BY id").fetchall()

        db.execute("DELETE FROM item WHERE id > 10")
        db.execute("INSERT INTO item (payload) VALUES ('\\x00')")
        assert restore(postgres_url, saved).revision == "rev_a"
        # The connection that stayed open (as a server's would) sees the restored rows and sequence.
        assert db.execute("SELECT id, payload FROM item ORDER BY id").fetchall() == before
        assert db.execute("INSERT INTO item (payload) VALUES ('\\x01') RETURNING id").fetchone()[0] == 51


def test_postgres_restore_gives_up_cleanly_when_a_session_holds_a_table(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    from wattwitness.server.ops import backup as backup_module

    libpq = postgres_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(libpq, autocommit=True) as db:
        db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        db.execute("INSERT INTO alembic_version VALUES ('rev_a')")
        db.execute("CREATE TABLE item (id SERIAL PRIMARY KEY)")
        db.execute("INSERT INTO item DEFAULT VALUES")
    saved = tmp_path / "saved.pgdump"
    backup(postgres_url, saved)

    monkeypatch.setattr(backup_module, "PG_RESTORE_LOCK_TIMEOUT_MS", 1000)
    with psycopg.connect(libpq) as holder:
        holder.execute("INSERT INTO item DEFAULT VALUES")  # an open transaction, as a stuck request would hold
        with pytest.raises(OpsError, match="locked by another session for more than 1 s, so the restore was cancelled"):
            restore(postgres_url, saved)
        holder.commit()
    with psycopg.connect(libpq) as db:
        assert db.execute("SELECT count(*) FROM item").fetchone() == (2,)  # the restore changed nothing
