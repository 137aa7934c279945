"""Online backup and restore: the server keeps serving while either runs.

SQLite: the backup API of sqlite3 copies a consistent snapshot page by page while writers continue, and
the same API restores into the live file under SQLite's own locks, so open connections see either the old
or the restored database, never a mix. The copy is checked (`PRAGMA integrity_check`, schema present)
before it replaces anything.

PostgreSQL: `pg_dump --format=custom` takes an MVCC snapshot without blocking writers; `pg_restore
--clean --if-exists --single-transaction` replaces the schema's contents in one transaction, so a
failure leaves the database as it was. Both tools come from the postgresql-client package.

A backup is written next to its destination and renamed into place, so a failed run never leaves a
truncated file under the name an operator will later restore from.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from wattwitness.server.ops.errors import OpsError
from wattwitness.server.ops.target import DatabaseTarget, PostgresTarget, SqliteTarget, target_from_url

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_CUSTOM_MAGIC = b"PGDMP"
# Every WattWitness database has Alembic's version table; a file without it is not one of ours.
VERSION_TABLE = "alembic_version"
PG_TOOL_TIMEOUT_S = 6 * 3600
# pg_restore --clean must take each table's exclusive lock; a server transaction left open would make it
# wait forever. Waiting longer than this for one lock cancels the restore (nothing changed).
PG_RESTORE_LOCK_TIMEOUT_MS = 60_000


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size_bytes: int
    kind: str
    revision: str | None


def backup(database_url: str, destination: Path) -> BackupResult:
    """Write a consistent copy of the configured database to `destination` (SQLite file or pg custom dump)."""
    target = target_from_url(database_url)
    if destination.is_dir():
        raise OpsError(f"{destination} is a directory; give the backup file's name")
    if not destination.parent.is_dir():
        raise OpsError(f"directory {destination.parent} does not exist")
    with _staging_file(destination) as staging:
        if isinstance(target, SqliteTarget):
            revision = _sqlite_backup(target, staging)
            kind = "sqlite"
        else:
            revision = _pg_dump(target, staging)
            kind = "postgresql"
        os.replace(staging, destination)
    return BackupResult(destination, destination.stat().st_size, kind, revision)


def restore(database_url: str, source: Path) -> BackupResult:
    """Replace the configured database's contents by the backup in `source`, while the server runs."""
    target = target_from_url(database_url)
    if not source.is_file():
        raise OpsError(f"backup file {source} does not exist")
    kind = backup_kind(source)
    if isinstance(target, SqliteTarget):
        if kind != "sqlite":
            raise OpsError(f"{source} is a {kind} backup; the configured database is SQLite")
        revision = _sqlite_restore(source, target)
    else:
        if kind != "postgresql":
            raise OpsError(f"{source} is a {kind} backup; the configured database is PostgreSQL "
                           "(restore expects a pg_dump custom-format file written by `wattwitness db backup`)")
        revision = _pg_restore(source, target)
    return BackupResult(source, source.stat().st_size, kind, revision)


def backup_kind(path: Path) -> str:
    """'sqlite', 'postgresql' (custom-format dump) or 'unrecognised' from the file's first bytes."""
    with path.open("rb") as handle:
        head = handle.read(len(SQLITE_MAGIC))
    if head == SQLITE_MAGIC:
        return "sqlite"
    if head.startswith(PG_CUSTOM_MAGIC):
        return "postgresql"
    return "unrecognised"


@contextmanager
def _staging_file(destination: Path) -> Iterator[Path]:
    handle, name = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".partial", dir=destination.parent)
    os.close(handle)
    staging = Path(name)
    try:
        yield staging
    finally:
        staging.unlink(missing_ok=True)


# ---- SQLite ----------------------------------------------------------------------------------------

def _sqlite_revision(connection: sqlite3.Connection, what: str) -> str | None:
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if VERSION_TABLE not in tables:
        raise OpsError(f"{what} is not a WattWitness database (no {VERSION_TABLE} table)")
    row = connection.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchone()
    return row[0] if row else None


def _check_integrity(connection: sqlite3.Connection, what: str) -> None:
    verdict = connection.execute("PRAGMA integrity_check").fetchone()[0]
    if verdict != "ok":
        raise OpsError(f"{what} failed SQLite's integrity check: {verdict}")


def _open_sqlite(path: Path, what: str, *, read_only: bool, create: bool = False) -> sqlite3.Connection:
    if not path.is_file() and not create:
        raise OpsError(f"{what} {path} does not exist")
    if create and not path.parent.is_dir():
        raise OpsError(f"directory {path.parent} of {what} {path} does not exist")
    mode = "ro" if read_only else ("rwc" if create else "rw")
    try:
        # A generous timeout: the server may hold the write lock for the length of a batch.
        return sqlite3.connect(f"file:{path.resolve()}?mode={mode}", uri=True, timeout=30)
    except sqlite3.Error as err:
        raise OpsError(f"cannot open {what} {path}: {err}") from err


def _sqlite_backup(target: SqliteTarget, staging: Path) -> str | None:
    try:
        with closing(_open_sqlite(target.path, "database", read_only=True)) as live:
            revision = _sqlite_revision(live, target.describe())
            with closing(sqlite3.connect(staging)) as copy:
                # pages=0 copies everything in one step: SQLite restarts a stepwise copy whenever
                # another connection writes, which under a steady stream of readings may never finish.
                live.backup(copy, pages=0)
                _check_integrity(copy, "the backup copy")
                # A self-contained file: no WAL beside it.
                copy.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.Error as err:
        raise OpsError(f"SQLite backup of {target.path} failed: {err}") from err
    return revision


def _sqlite_restore(source: Path, target: SqliteTarget) -> str | None:
    try:
        with closing(_open_sqlite(source, "backup file", read_only=True)) as backup_db:
            _check_integrity(backup_db, f"backup file {source}")
            revision = _sqlite_revision(backup_db, f"backup file {source}")
            # A missing database file is created: restoring onto a new machine is the disaster case.
            with closing(_open_sqlite(target.path, "database", read_only=False, create=True)) as live:
                backup_db.backup(live, pages=0)
    except sqlite3.DatabaseError as err:
        raise OpsError(f"restore of {source} into {target.path} failed: {err}") from err
    return revision


# ---- PostgreSQL ------------------------------------------------------------------------------------

def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise OpsError(f"{name} is not installed; install the PostgreSQL client tools "
                       "(Debian/Raspberry Pi OS: apt-get install postgresql-client)")
    return found


def _run_pg(args: list[str], target: PostgresTarget, action: str, lock_watch: bool = False) -> None:
    """Runs pg_dump/pg_restore; with `lock_watch`, cancels it when it waits too long for a table lock."""
    application = f"wattwitness-ops-{uuid.uuid4().hex[:12]}"
    environment = {**os.environ, **target.environment(), "PGAPPNAME": application}
    process = subprocess.Popen(args, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    cancelled = False
    deadline = time.monotonic() + PG_TOOL_TIMEOUT_S
    try:
        while True:
            try:
                _, stderr = process.communicate(timeout=1)
                break
            except subprocess.TimeoutExpired:
                if time.monotonic() > deadline:
                    process.kill()
                    raise OpsError(f"{action} did not finish within {PG_TOOL_TIMEOUT_S} s") from None
                if lock_watch and not cancelled:
                    cancelled = _cancel_if_stuck_on_a_lock(target, application)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    if process.returncode != 0:
        message = " ".join(stderr.strip().splitlines()[:3]) or f"exit status {process.returncode}"
        if cancelled:
            raise OpsError(f"{action}: a table stayed locked by another session for more than "
                           f"{PG_RESTORE_LOCK_TIMEOUT_MS // 1000} s, so the restore was cancelled and nothing "
                           "was changed; retry when the server is quieter")
        if "could not connect" in message or "connection to server" in message:
            raise OpsError(f"{action}: the database is unreachable ({message})")
        if "server version mismatch" in message:
            raise OpsError(f"{action}: {message}; install the postgresql-client matching the server's version")
        raise OpsError(f"{action} failed: {message}")


def _cancel_if_stuck_on_a_lock(target: PostgresTarget, application: str) -> bool:
    """pg_restore's script sets lock_timeout = 0 itself, so the wait is watched from outside: when the
    tool's session has waited for a lock longer than allowed, its statement is cancelled, and with
    --single-transaction that rolls the whole restore back."""
    import psycopg

    try:
        with psycopg.connect(target.conninfo, password=target.password, connect_timeout=10,
                             autocommit=True) as connection:
            row = connection.execute(
                "SELECT bool_or(pg_cancel_backend(pid)) FROM pg_stat_activity WHERE application_name = %s "
                "AND wait_event_type = 'Lock' AND now() - state_change > make_interval(secs => %s)",
                (application, PG_RESTORE_LOCK_TIMEOUT_MS / 1000),
            ).fetchone()
    except psycopg.Error:
        return False  # the watch is best effort; the tool's own outcome still decides
    return bool(row and row[0])


def _pg_dump(target: PostgresTarget, staging: Path) -> str | None:
    revision = _pg_revision(target)
    if revision is None:
        raise OpsError(f"{target.describe()} is not a WattWitness database (no {VERSION_TABLE} table); "
                       "run `wattwitness db upgrade` first")
    _run_pg([_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
             f"--file={staging}", f"--dbname={target.conninfo}"], target, f"pg_dump of {target.database}")
    return revision


def _pg_restore(source: Path, target: PostgresTarget) -> str | None:
    listing = subprocess.run([_pg_tool("pg_restore"), "--list", str(source)], capture_output=True, text=True,
                             check=False)
    if listing.returncode != 0:
        raise OpsError(f"{source} is not a readable pg_dump archive: {listing.stderr.strip()}")
    if f" {VERSION_TABLE} " not in listing.stdout:
        raise OpsError(f"{source} is not a WattWitness database dump (no {VERSION_TABLE} table)")
    _pg_revision(target)  # fails early and clearly when the database is unreachable
    _run_pg([_pg_tool("pg_restore"), "--clean", "--if-exists", "--single-transaction", "--no-owner",
             "--no-privileges", "--exit-on-error", f"--dbname={target.conninfo}", str(source)],
            target, f"pg_restore of {source} into {target.database}", lock_watch=True)
    return _pg_revision(target)


def _pg_revision(target: PostgresTarget) -> str | None:
    import psycopg  # the PostgreSQL driver is needed only here

    try:
        with psycopg.connect(target.conninfo, password=target.password, connect_timeout=10) as connection:
            row = connection.execute(
                "SELECT to_regclass(%s) IS NOT NULL", (VERSION_TABLE,)
            ).fetchone()
            if not row or not row[0]:
                return None
            version = connection.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchone()
            return version[0] if version else None
    except psycopg.OperationalError as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise OpsError(f"the database is unreachable: {first_line}") from err


def describe_target(database_url: str) -> str:
    target: DatabaseTarget = target_from_url(database_url)
    return target.describe()
