"""The agent's durable state: chain head and outbox of signed records, in SQLite (WAL, synchronous=FULL).

A record is signed and inserted, and the chain head moved past it, in ONE transaction that commits
before anything is sent. If the process dies before the commit, the signature never left it and is
simply lost; after the commit, the record is on disk and will be sent until the server acknowledges
it. The boot epoch is fixed (and persisted by the signer) before the first record of a start is signed,
so a (boot, seq) is never signed twice with different contents. Entries the server rejects move to a
dead-letter table; nothing is dropped silently.
"""

from __future__ import annotations

import errno
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from wattwitness.protocol import ZERO_HASH, Reading, record_hash

from .errors import DiskFullError, OutboxError, StateMismatchError

OUTBOX_FILE = "outbox.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS chain_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    key_id TEXT NOT NULL,
    boot INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    hash BLOB NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    boot INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    record BLOB NOT NULL,
    signature BLOB NOT NULL,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    UNIQUE (boot, seq)
);
CREATE TABLE IF NOT EXISTS dead_letter (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    boot INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    record BLOB NOT NULL,
    signature BLOB NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL,
    failed_at REAL NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class ChainHead:
    """Where the chain stands: the last signed (boot, seq) and its record hash (ZERO_HASH before any)."""

    key_id: str
    boot: int
    seq: int
    hash: bytes


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    id: int
    boot: int
    seq: int
    record: bytes
    signature: bytes
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class DeadLetter:
    boot: int
    seq: int
    record: bytes
    signature: bytes
    outcome: str
    detail: str


def _is_disk_full(err: BaseException) -> bool:
    if isinstance(err, OSError) and err.errno == errno.ENOSPC:
        return True
    if isinstance(err, sqlite3.Error):
        return getattr(err, "sqlite_errorcode", None) == 13 or "database or disk is full" in str(err)
    return False


@contextmanager
def _wrapped(action: str) -> Iterator[None]:
    try:
        yield
    except (sqlite3.Error, OSError) as err:
        if _is_disk_full(err):
            raise DiskFullError(f"disk full while trying to {action}: free space in the state directory") from err
        raise OutboxError(f"outbox failed to {action}: {err}") from err


class Outbox:
    """One connection to the state database. Use one Outbox per thread (SQLite connections are not shared)."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / OUTBOX_FILE
        with _wrapped(f"open {self.path}"):
            # 0700: the outbox and the boot counter are nobody else's business (and nobody else's to edit).
            state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            # Autocommit mode: every transaction below is explicit (BEGIN IMMEDIATE ... COMMIT).
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _transaction(self, action: str) -> Iterator[sqlite3.Connection]:
        with _wrapped(action):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def head(self) -> ChainHead | None:
        """None when this state directory has never started a boot (a fresh or wiped state)."""
        with _wrapped("read the chain head"):
            row = self._db.execute("SELECT key_id, boot, seq, hash FROM chain_head WHERE id = 1").fetchone()
        return ChainHead(row[0], row[1], row[2], bytes(row[3])) if row else None

    def start_boot(self, key_id: str, boot: int) -> ChainHead:
        """Moves the head to (boot, 0), keeping the last record's hash so the chain links across boots."""
        with self._transaction("start a boot") as db:
            row = db.execute("SELECT key_id, boot, hash FROM chain_head WHERE id = 1").fetchone()
            if row is not None and row[0] != key_id:
                raise StateMismatchError(f"this state directory belongs to key {row[0]}, not {key_id}")
            if row is not None and boot <= row[1]:
                raise OutboxError(f"boot {boot} is not above the stored boot {row[1]}")
            previous_hash = bytes(row[2]) if row else ZERO_HASH
            db.execute("INSERT OR REPLACE INTO chain_head (id, key_id, boot, seq, hash, updated_at) "
                       "VALUES (1, ?, ?, 0, ?, ?)", (key_id, boot, previous_hash, time.time()))
        return ChainHead(key_id, boot, 0, previous_hash)

    def append_signed(self, sign_next: Callable[[ChainHead], tuple[bytes, bytes]]) -> OutboxEntry:
        """Signs the next record and stores it with the new head in one transaction.

        `sign_next(head)` builds the record that follows `head` and returns (record, signature). It runs
        inside the transaction, so no other writer can move the head between reading and advancing it.
        """
        with self._transaction("store a signed record") as db:
            row = db.execute("SELECT key_id, boot, seq, hash FROM chain_head WHERE id = 1").fetchone()
            if row is None:
                raise OutboxError("no boot started: call start_boot first")
            head = ChainHead(row[0], row[1], row[2], bytes(row[3]))
            record, signature = sign_next(head)
            reading = Reading.decode(record)
            if (reading.boot, reading.seq, reading.prev) != (head.boot, head.seq + 1, head.hash):
                raise OutboxError(f"record (boot {reading.boot}, seq {reading.seq}) does not follow the head "
                                  f"(boot {head.boot}, seq {head.seq})")
            cursor = db.execute("INSERT INTO outbox (boot, seq, record, signature, created_at) VALUES (?, ?, ?, ?, ?)",
                                (reading.boot, reading.seq, record, signature, time.time()))
            db.execute("UPDATE chain_head SET seq = ?, hash = ?, updated_at = ? WHERE id = 1",
                       (reading.seq, record_hash(record), time.time()))
        assert cursor.lastrowid is not None
        return OutboxEntry(cursor.lastrowid, reading.boot, reading.seq, record, signature)

    def pending(self, limit: int = 500) -> list[OutboxEntry]:
        """The oldest unacknowledged records, in chain order."""
        with _wrapped("read the outbox"):
            rows = self._db.execute("SELECT id, boot, seq, record, signature, attempts FROM outbox "
                                    "ORDER BY boot, seq LIMIT ?", (limit,)).fetchall()
        return [OutboxEntry(r[0], r[1], r[2], bytes(r[3]), bytes(r[4]), r[5]) for r in rows]

    def depth(self) -> int:
        with _wrapped("count the outbox"):
            return int(self._db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def acknowledge(self, ids: list[int]) -> None:
        """Deletes entries the server has stored (or already had)."""
        if not ids:
            return
        with self._transaction("delete acknowledged records") as db:
            db.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in ids])

    def note_attempt(self, ids: list[int], error: str) -> None:
        if not ids:
            return
        with self._transaction("note a failed send") as db:
            db.executemany("UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                           [(error[:500], i) for i in ids])

    def move_to_dead_letter(self, entry: OutboxEntry, outcome: str, detail: str) -> None:
        with self._transaction("move a rejected record to the dead-letter table") as db:
            db.execute("INSERT INTO dead_letter (boot, seq, record, signature, outcome, detail, failed_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (entry.boot, entry.seq, entry.record, entry.signature, outcome, detail, time.time()))
            db.execute("DELETE FROM outbox WHERE id = ?", (entry.id,))

    def dead_letters(self) -> list[DeadLetter]:
        with _wrapped("read the dead-letter table"):
            rows = self._db.execute("SELECT boot, seq, record, signature, outcome, detail FROM dead_letter "
                                    "ORDER BY id").fetchall()
        return [DeadLetter(r[0], r[1], bytes(r[2]), bytes(r[3]), r[4], r[5]) for r in rows]
