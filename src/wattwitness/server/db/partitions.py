"""Monthly partitions of `readings` on PostgreSQL (migration 0005; docs/scaling.md, docs/operations.md §6).

`readings` is partitioned by range of `ts` (Unix seconds): one partition per UTC calendar month, named
`readings_pYYYYMM`, plus the DEFAULT partition `readings_default`, so that a reading of any timestamp
is accepted. `ensure_partitions` creates the partitions of the current month and the next
`MONTHS_AHEAD`, and one for every month that has rows in DEFAULT (it moves those rows into the new
partition: PostgreSQL refuses to create a partition whose range DEFAULT holds rows of). The migration
calls it, and so do `db.migrate.upgrade` (which runs before the server starts) and `wattwitness db prune`
(the daily timer), so DEFAULT only ever holds what arrived since the last call for months without a
partition. When there is nothing to create it costs two catalog reads and one scan of DEFAULT.

SQLite has a plain table: every function here is a no-op there.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, text

TABLE = "readings"
DEFAULT_PARTITION = "readings_default"
MONTHS_AHEAD = 2
# Any fixed number: serialises concurrent callers (several servers starting, prune) within their transactions.
LOCK_KEY = 0x7761_7474_7061_7274
# Months from year 1 to 9999 (Python datetimes); a row beyond stays in DEFAULT, which accepts anything.
MAX_TS = 253_402_300_800
_NAME = re.compile(r"^readings_p(\d{4})(\d{2})$")


@dataclass(frozen=True, order=True)
class Month:
    """A UTC calendar month and its partition: ts in [start_ts, end_ts)."""

    year: int
    month: int

    @classmethod
    def of(cls, ts: int) -> Month:
        moment = datetime.fromtimestamp(ts, UTC)
        return cls(moment.year, moment.month)

    def following(self, months: int = 1) -> Month:
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    @property
    def start_ts(self) -> int:
        return int(datetime(self.year, self.month, 1, tzinfo=UTC).timestamp())

    @property
    def end_ts(self) -> int:
        return self.following().start_ts

    @property
    def name(self) -> str:
        return f"readings_p{self.year:04d}{self.month:02d}"


def months_spanning(first_ts: int, last_ts: int) -> list[Month]:
    """Every month from the one of `first_ts` to the one of `last_ts` (for loading a known time range)."""
    months = [Month.of(first_ts)]
    while months[-1] < Month.of(last_ts):
        months.append(months[-1].following())
    return months


def is_partition(table_name: str) -> bool:
    """Whether a table is one of the partitions (they are not in the models: tests/ops/test_migrations.py)."""
    return table_name == DEFAULT_PARTITION or _NAME.match(table_name) is not None


def is_partitioned(connection: Connection) -> bool:
    if connection.dialect.name != "postgresql":
        return False
    return connection.scalar(text("SELECT EXISTS (SELECT 1 FROM pg_partitioned_table "
                                  "WHERE partrelid = to_regclass(:table))"), {"table": TABLE}) is True


def monthly_partitions(connection: Connection) -> list[Month]:
    """The monthly partitions that exist, oldest first (DEFAULT not included)."""
    names = connection.scalars(text("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                                    "WHERE i.inhparent = to_regclass(:table)"), {"table": TABLE})
    found = (_NAME.match(name) for name in names)
    return sorted(Month(int(match[1]), int(match[2])) for match in found if match)


def months_with_rows(connection: Connection, table: str) -> set[Month]:
    """UTC months that have rows in `table` (one scan: meant for DEFAULT, or the table a migration copies)."""
    rows = connection.execute(text(
        f"SELECT DISTINCT extract(year FROM to_timestamp(ts) AT TIME ZONE 'UTC')::int, "
        f"extract(month FROM to_timestamp(ts) AT TIME ZONE 'UTC')::int FROM {table} "
        "WHERE ts >= 0 AND ts < :max_ts"), {"max_ts": MAX_TS})
    return {Month(year, month) for year, month in rows}


def ensure_partitions(connection: Connection, now: int | None = None, extra: Iterable[Month] = ()) -> list[Month]:
    """Creates the missing monthly partitions (current month to MONTHS_AHEAD, months found in DEFAULT and
    `extra`), moving DEFAULT's rows of those months into them; returns what it created. Runs inside the
    caller's transaction; idempotent."""
    if not is_partitioned(connection):
        return []
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    current = Month.of(int(time.time()) if now is None else now)
    wanted = {current.following(months) for months in range(MONTHS_AHEAD + 1)} | set(extra)
    missing = wanted | months_with_rows(connection, DEFAULT_PARTITION)
    missing -= set(monthly_partitions(connection))
    if not missing:
        return []
    # No ingest may add a row of a month to DEFAULT between the move and the partition's creation.
    connection.execute(text(f"LOCK TABLE {DEFAULT_PARTITION} IN SHARE ROW EXCLUSIVE MODE"))
    in_default = months_with_rows(connection, DEFAULT_PARTITION)
    missing |= in_default - set(monthly_partitions(connection))
    if in_default & missing:
        connection.execute(text(f"CREATE TEMPORARY TABLE readings_moving (LIKE {TABLE}) ON COMMIT DROP"))
    for month in sorted(missing):
        bounds = {"start": month.start_ts, "end": month.end_ts}
        if month in in_default:
            connection.execute(text(f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} WHERE ts >= :start AND ts < :end "
                                    "RETURNING *) INSERT INTO readings_moving SELECT * FROM moved"), bounds)
        # Bounds are integers computed here (DDL takes no bind parameters).
        connection.execute(text(f"CREATE TABLE {month.name} PARTITION OF {TABLE} "
                                f"FOR VALUES FROM ({month.start_ts}) TO ({month.end_ts})"))
        if month in in_default:
            connection.execute(text(f"INSERT INTO {TABLE} SELECT * FROM readings_moving"))
            connection.execute(text("TRUNCATE readings_moving"))
    return sorted(missing)
