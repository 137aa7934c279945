"""Monthly partitions of `readings` on PostgreSQL (migration 0005; docs/scaling.md, docs/operations.md §6).

`readings` is partitioned by range of `ts` (Unix seconds): one partition per UTC calendar month, named
`readings_pYYYYMM`, contiguous from a first month to `MONTHS_AHEAD` months after the current one, plus
two open-ended partitions, `readings_before` (MINVALUE to the first month) and `readings_after` (after
the last month to MAXVALUE), so that a reading of any timestamp is accepted.

Why not a DEFAULT partition: it may hold any `ts`, so PostgreSQL can no longer treat the partitions as
ordered, and every chart probe (`ts <= edge ORDER BY ts DESC LIMIT 1`) becomes a Merge Append that
descends the index of every partition. With only range partitions it is an ordered Append that stops
at the first partition holding a row (EXPLAIN: one index descent instead of one per month).

`ensure_partitions` keeps the months ahead coming: it creates the missing months up to MONTHS_AHEAD
after the current one, moving whatever `readings_after` held into them (normally nothing: the ingest
refuses readings from the future). It runs in `db.migrate.upgrade` (before the server starts) and in
`wattwitness db prune` (the daily timer); when there is nothing to do it costs one catalog query.
With `first`, it also gives earlier months their own partitions, moving their rows out of
`readings_before`. Changing the open-ended partitions takes the table's exclusive lock for a moment.

SQLite has a plain table: every function here is a no-op there.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, text

TABLE = "readings"
BEFORE = "readings_before"
AFTER = "readings_after"
MONTHS_AHEAD = 2
# Any fixed number: serialises concurrent callers (several servers starting, prune) within their transactions.
LOCK_KEY = 0x7761_7474_7061_7274
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


def months_between(first: Month, last: Month) -> list[Month]:
    """first, the months after it, up to and including last (empty when last < first)."""
    months: list[Month] = []
    while first <= last:
        months.append(first)
        first = first.following()
    return months


def is_partition(table_name: str) -> bool:
    """Whether a table is one of the partitions (they are not in the models: tests/ops/test_migrations.py)."""
    return table_name in (BEFORE, AFTER) or _NAME.match(table_name) is not None


def is_partitioned(connection: Connection) -> bool:
    if connection.dialect.name != "postgresql":
        return False
    return connection.scalar(text("SELECT EXISTS (SELECT 1 FROM pg_partitioned_table "
                                  "WHERE partrelid = to_regclass(:table))"), {"table": TABLE}) is True


def monthly_partitions(connection: Connection) -> list[Month]:
    """The monthly partitions that exist, oldest first (the two open-ended ones not included)."""
    names = connection.scalars(text("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                                    "WHERE i.inhparent = to_regclass(:table)"), {"table": TABLE})
    found = (_NAME.match(name) for name in names)
    return sorted(Month(int(match[1]), int(match[2])) for match in found if match)


def create_partitions(connection: Connection, first: Month, now: int | None = None) -> list[Month]:
    """The partitions of a new, empty partitioned `readings`: months from `first` to MONTHS_AHEAD after
    now, and the two open-ended ones (migration 0005)."""
    months = months_between(first, _last_wanted(now))
    for month in months:
        _create_month(connection, month)
    _create_open_ended(connection, months[0], months[-1])
    return months


def ensure_partitions(connection: Connection, now: int | None = None, first: Month | None = None) -> list[Month]:
    """Creates the missing months up to MONTHS_AHEAD after now (and from `first` on, when given), moving the
    open-ended partitions' rows of those months into them; returns the months created. Runs inside the
    caller's transaction; idempotent."""
    if not is_partitioned(connection):
        return []
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    existing = monthly_partitions(connection)
    if not existing:
        raise RuntimeError("readings is partitioned but has no monthly partition (migration 0005 makes them)")
    earlier = months_between(first, existing[0].following(-1)) if first is not None else []
    later = months_between(existing[-1].following(), _last_wanted(now))
    if not earlier and not later:
        return []
    # The open-ended partitions are recreated with their new bounds; their rows (normally few) go back in
    # through the parent, which routes them to their months.
    connection.execute(text(f"CREATE TEMPORARY TABLE readings_moving ON COMMIT DROP AS "
                            f"SELECT * FROM {BEFORE} WHERE :earlier UNION ALL SELECT * FROM {AFTER} WHERE :later"),
                       {"earlier": bool(earlier), "later": bool(later)})
    for partition, changes in ((BEFORE, earlier), (AFTER, later)):
        if changes:
            connection.execute(text(f"DROP TABLE {partition}"))
    for month in earlier + later:
        _create_month(connection, month)
    months = earlier + existing + later
    _create_open_ended(connection, months[0], months[-1], before=bool(earlier), after=bool(later))
    connection.execute(text(f"INSERT INTO {TABLE} SELECT * FROM readings_moving"))
    connection.execute(text("DROP TABLE readings_moving"))
    return earlier + later


def _last_wanted(now: int | None) -> Month:
    return Month.of(int(time.time()) if now is None else now).following(MONTHS_AHEAD)


def _create_month(connection: Connection, month: Month) -> None:
    # Bounds are integers computed here (DDL takes no bind parameters).
    connection.execute(text(f"CREATE TABLE {month.name} PARTITION OF {TABLE} "
                            f"FOR VALUES FROM ({month.start_ts}) TO ({month.end_ts})"))


def _create_open_ended(connection: Connection, first: Month, last: Month, before: bool = True,
                       after: bool = True) -> None:
    if before:
        connection.execute(text(f"CREATE TABLE {BEFORE} PARTITION OF {TABLE} "
                                f"FOR VALUES FROM (MINVALUE) TO ({first.start_ts})"))
    if after:
        connection.execute(text(f"CREATE TABLE {AFTER} PARTITION OF {TABLE} "
                                f"FOR VALUES FROM ({last.end_ts}) TO (MAXVALUE)"))
