"""The stored chain of one installation as a protocol `ChainStore`, prefetched once per request.

The ingest checks every record through `protocol.check_chain`, which asks a ChainStore about stored
neighbours. Asking the database for each of a 5,000-record batch would cost thousands of queries, so
`InstallationChain.prefetch` loads, in a few index range queries, every stored record between the
batch's lowest and highest (boot, seq) plus the nearest stored record on each side. Inside that
*covered* interval the in-memory view is complete; outside it, look-ups fall back to the database.
Records accepted earlier in the same batch are added to the view as *pending* rows, so later items of
the batch see them exactly as they would see stored ones.
"""

from __future__ import annotations

import bisect
import functools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Row, Table, and_, bindparam, insert, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

from wattwitness.protocol import Reading as SignedReading
from wattwitness.protocol import StoredRecord, record_hash
from wattwitness.server.db.models import Installation, Reading

Order = tuple[int, int]
NEG_INF: Order = (-1, -1)
POS_INF: Order = (2**63, 2**63)


@dataclass(slots=True)
class ChainRow:
    """One reading as the ingest sees it: stored (has an id) or pending (accepted in this request)."""

    stored: StoredRecord
    signature: bytes
    status: str
    cumulative_mwh: int
    id: int | None = None
    created_at: datetime | None = None

    @property
    def order(self) -> Order:
        return self.stored.reading.order

    @property
    def energy_mwh(self) -> int:
        return self.stored.reading.energy_mwh

    def as_reading(self, installation_id: int) -> Reading:
        """The row as the ORM would load it (not attached to a session): no query to answer with it."""
        signed = self.stored.reading
        return Reading(id=self.id, installation_id=installation_id, boot=signed.boot, seq=signed.seq, ts=signed.ts,
                       power_mw=signed.power_mw, energy_mwh=signed.energy_mwh, prev=signed.prev,
                       signature=self.signature, record_hash=self.stored.hash, status=self.status,
                       cumulative_mwh=self.cumulative_mwh, anchor_id=None, created_at=self.created_at)


def after(order: Order, inclusive: bool = False) -> ColumnElement[bool]:
    boot, seq = order
    return or_(Reading.boot > boot, and_(Reading.boot == boot, Reading.seq >= seq if inclusive else Reading.seq > seq))


def before(order: Order, inclusive: bool = False) -> ColumnElement[bool]:
    boot, seq = order
    return or_(Reading.boot < boot, and_(Reading.boot == boot, Reading.seq <= seq if inclusive else Reading.seq < seq))


# Rows are read as plain column tuples, not ORM objects: the ingest only copies their values.
READING_COLUMNS = tuple(Reading.__table__.c)
StoredRow = Row[Any]
# The newest record in chain order: every ingest asks, so the statement is built once.
HEAD = (select(*READING_COLUMNS).where(Reading.installation_id == bindparam("installation_id"))
        .order_by(Reading.boot.desc(), Reading.seq.desc()).limit(1))


class InstallationChain:
    """ChainStore over one installation's readings: prefetched rows, pending rows, database fallback."""

    def __init__(self, session: Session, installation: Installation) -> None:
        self.session = session
        self.installation = installation
        self.rows: dict[Order, ChainRow] = {}
        self._orders: list[Order] = []  # the keys of `rows`, sorted: neighbours by bisection
        self._by_hash: dict[bytes, ChainRow] = {}
        # First records of a boot (seq 1) by the hash they name as prev: successors across boots.
        self._boot_starts: dict[bytes, list[ChainRow]] = defaultdict(list)
        self._hash_misses: set[bytes] = set()
        self._low: Order = POS_INF  # coverage: the view is complete for orders in [_low, _high]
        self._high: Order = NEG_INF

    # ---- loading -------------------------------------------------------------------------------

    def _row(self, reading: StoredRow) -> ChainRow:
        assert reading.prev is not None and reading.record_hash is not None
        signed = SignedReading(self.installation.shelly_mac, reading.boot, reading.seq, reading.ts, reading.power_mw,
                               reading.energy_mwh, reading.prev)
        return ChainRow(StoredRecord(signed, signed.encode(), reading.record_hash), reading.signature, reading.status,
                        reading.cumulative_mwh, reading.id, reading.created_at)

    def _remember(self, reading: StoredRow | None) -> ChainRow | None:
        if reading is None:
            return None
        row = self.rows.get((reading.boot, reading.seq))
        if row is None:
            row = self._row(reading)
            self._add(row)
        return row

    def _add(self, row: ChainRow) -> None:
        self.rows[row.order] = row
        bisect.insort(self._orders, row.order)
        self._by_hash[row.stored.hash] = row
        if row.order[1] == 1:
            self._boot_starts[row.stored.reading.prev].append(row)

    def _query(self, *conditions: ColumnElement[bool]) -> list[StoredRow]:
        return list(self.session.execute(select(*READING_COLUMNS).where(
            Reading.installation_id == self.installation.id, *conditions)))

    def _first(self, condition: ColumnElement[bool], descending: bool) -> StoredRow | None:
        order_by = (Reading.boot.desc(), Reading.seq.desc()) if descending else (Reading.boot, Reading.seq)
        return self.session.execute(select(*READING_COLUMNS).where(
            Reading.installation_id == self.installation.id, condition).order_by(*order_by).limit(1)).first()

    def prefetch(self, readings: Iterable[SignedReading]) -> bool:
        """Loads the stored neighbourhood of these readings so that checking them needs no more queries;
        True when they all lie above every stored record (appends)."""
        readings = list(readings)
        if not readings:
            return False
        low = min(r.order for r in readings)
        high = max(r.order for r in readings)
        head = self._remember(self.session.execute(HEAD, {"installation_id": self.installation.id}).first())
        if head is None or head.order < low:
            # Appends, the common case (one query): nothing is stored at or above the batch's lowest record,
            # so the view holding just the head is complete from the head upwards.
            self._low = head.order if head else NEG_INF
            self._high = POS_INF
        else:
            for row in self._query(after(low, inclusive=True), before(high, inclusive=True)):
                self._remember(row)
            below = self._remember(self._first(before(low), descending=True))
            above = self._remember(self._first(after(high), descending=False)) if high < head.order else None
            self._low = below.order if below else NEG_INF
            self._high = above.order if above else POS_INF
        # The first record of a boot names its predecessor by hash: nearly always the head or a record of
        # the batch itself; only others are searched for (without an index, migration 0004).
        wanted = {r.prev for r in readings if r.seq == 1 and not r.starts_chain} - self._by_hash.keys()
        if wanted:
            wanted -= {record_hash(r.encode()) for r in readings}
        for digest in sorted(wanted):
            self.by_hash(digest)
        return self._high == POS_INF and (head is None or head.order < low)

    def _covers(self, order: Order) -> bool:
        return self._low <= order <= self._high

    # ---- ChainStore ----------------------------------------------------------------------------

    def get(self, boot: int, seq: int) -> StoredRecord | None:
        row = self.row((boot, seq))
        return row.stored if row else None

    def row(self, order: Order) -> ChainRow | None:
        if order in self.rows or self._covers(order):
            return self.rows.get(order)
        return self._remember(self._first(and_(Reading.boot == order[0], Reading.seq == order[1]), descending=False))

    def by_hash(self, digest: bytes) -> StoredRecord | None:
        row = self._by_hash.get(digest)
        if row is None and digest not in self._hash_misses:
            # A scan of this installation's rows (no hash index): only for a boot start naming neither the
            # head nor a record of its batch, and at most once per hash and request.
            row = self._remember(self._first(Reading.record_hash == digest, descending=False))
            if row is None:
                self._hash_misses.add(digest)
        return row.stored if row else None

    def latest_before(self, boot: int, seq: int) -> StoredRecord | None:
        row = self.row_before((boot, seq))
        return row.stored if row else None

    def row_before(self, order: Order) -> ChainRow | None:
        if self._low < order <= self._high:
            position = bisect.bisect_left(self._orders, order)
            return self.rows[self._orders[position - 1]] if position else None
        return self._remember(self._first(before(order), descending=True))

    def row_after(self, order: Order) -> ChainRow | None:
        if self._low <= order < self._high:
            position = bisect.bisect_right(self._orders, order)
            return self.rows[self._orders[position]] if position < len(self._orders) else None
        return self._remember(self._first(after(order), descending=False))

    def successors(self, stored: StoredRecord) -> list[StoredRecord]:
        boot, seq = stored.reading.order
        found = []
        same_boot = self.get(boot, seq + 1)
        if same_boot is not None:
            found.append(same_boot)
        if not (self._covers((boot, seq)) and self._high == POS_INF):
            # Outside the complete view: later boots' first records come from the database.
            for reading in self._query(Reading.seq == 1, Reading.boot > boot):
                self._remember(reading)
        found += [r.stored for r in sorted(self._boot_starts.get(stored.hash, ()), key=lambda r: r.order)
                  if r.order[0] > boot]
        return found

    # ---- pending rows --------------------------------------------------------------------------

    def add_pending(self, row: ChainRow) -> None:
        self._add(row)

    def rows_after(self, order: Order) -> list[ChainRow]:
        return [self.rows[o] for o in self._orders[bisect.bisect_right(self._orders, order):]]


# ---- writing ---------------------------------------------------------------------------------------

COPY_FROM = 50  # rows; below this one multi-row INSERT is as quick and needs no extra round trips
# The columns an ingest writes, in the order of the row tuples `insert_readings` takes.
INSERT_COLUMNS = ("installation_id", "boot", "seq", "ts", "power_mw", "energy_mwh", "prev", "signature",
                  "record_hash", "status", "cumulative_mwh", "created_at")


INSERT = insert(cast(Table, Reading.__table__))


def insert_readings(session: Session, rows: list[tuple[Any, ...]]) -> list[int]:
    """Inserts reading rows (values in INSERT_COLUMNS order) and returns their ids in the same order.

    On PostgreSQL a batch is written with binary COPY: the ids are drawn from the table's sequence first,
    so no RETURNING is needed, and no SQL text is rendered and parsed per row (with multi-row INSERT the
    driver re-parsed a statement of thousands of parameters per page: docs/requests-bench.md R3).
    """
    connection = session.connection()
    if connection.dialect.name != "postgresql" or len(rows) < COPY_FROM:
        return list(session.scalars(INSERT.returning(Reading.id, sort_by_parameter_order=True),
                                    [dict(zip(INSERT_COLUMNS, row, strict=True)) for row in rows]))
    table = Reading.__table__
    # The columns' own conversions (the status code), as an INSERT would apply them; plain bytes and ints
    # need none, and the driver's bytea wrapper only slows COPY down.
    converters = [(position, functools.partial(column_type.process_bind_param, dialect=connection.dialect))
                  for position, name in enumerate(INSERT_COLUMNS)
                  if isinstance(column_type := table.c[name].type, TypeDecorator)]
    driver = connection.connection.driver_connection
    assert driver is not None
    columns = "id, " + ", ".join(INSERT_COLUMNS)
    with driver.cursor() as cursor:
        reserved = cursor.execute("SELECT array_agg(nextval(pg_get_serial_sequence('readings', 'id'))) "
                                  "FROM generate_series(1, %s)", (len(rows),)).fetchone()
        assert reserved is not None
        ids: list[int] = reserved[0]
        # The columns' types as the database has them, for binary COPY.
        cursor.execute(f"SELECT {columns} FROM readings WHERE false")
        assert cursor.description is not None
        types = [column.type_code for column in cursor.description]
        with cursor.copy(f"COPY readings ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(types)
            for reading_id, row in zip(ids, rows, strict=True):
                values = [reading_id, *row]
                for position, convert in converters:
                    values[position + 1] = convert(values[position + 1])
                copy.write_row(values)
    return ids
