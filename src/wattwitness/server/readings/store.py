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
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from wattwitness.protocol import Reading as SignedReading
from wattwitness.protocol import StoredRecord
from wattwitness.server.db.models import Installation, Reading

Order = tuple[int, int]
NEG_INF: Order = (-1, -1)
POS_INF: Order = (2**63, 2**63)
HASH_CHUNK = 500


@dataclass(slots=True)
class ChainRow:
    """One reading as the ingest sees it: stored (has an id) or pending (accepted in this request)."""

    stored: StoredRecord
    signature: bytes
    status: str
    cumulative_mwh: int
    id: int | None = None

    @property
    def order(self) -> Order:
        return self.stored.reading.order

    @property
    def energy_mwh(self) -> int:
        return self.stored.reading.energy_mwh


def after(order: Order, inclusive: bool = False) -> ColumnElement[bool]:
    boot, seq = order
    return or_(Reading.boot > boot, and_(Reading.boot == boot, Reading.seq >= seq if inclusive else Reading.seq > seq))


def before(order: Order, inclusive: bool = False) -> ColumnElement[bool]:
    boot, seq = order
    return or_(Reading.boot < boot, and_(Reading.boot == boot, Reading.seq <= seq if inclusive else Reading.seq < seq))


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
        self._low: Order = POS_INF  # coverage: the view is complete for orders in [_low, _high]
        self._high: Order = NEG_INF

    # ---- loading -------------------------------------------------------------------------------

    def _row(self, reading: Reading) -> ChainRow:
        assert reading.prev is not None and reading.record_hash is not None
        signed = SignedReading(self.installation.shelly_mac, reading.boot, reading.seq, reading.ts, reading.power_mw,
                               reading.energy_mwh, reading.prev)
        return ChainRow(StoredRecord(signed, signed.encode(), reading.record_hash), reading.signature, reading.status,
                        reading.cumulative_mwh, reading.id)

    def _remember(self, reading: Reading | None) -> ChainRow | None:
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

    def _query(self, *conditions: ColumnElement[bool]) -> list[Reading]:
        return list(self.session.scalars(select(Reading).where(Reading.installation_id == self.installation.id,
                                                                *conditions)))

    def _first(self, condition: ColumnElement[bool], descending: bool) -> Reading | None:
        order_by = (Reading.boot.desc(), Reading.seq.desc()) if descending else (Reading.boot, Reading.seq)
        return self.session.scalars(select(Reading).where(Reading.installation_id == self.installation.id, condition)
                                    .order_by(*order_by).limit(1)).first()

    def prefetch(self, readings: Iterable[SignedReading]) -> None:
        """Loads the stored neighbourhood of these readings so that checking them needs no more queries."""
        readings = list(readings)
        if not readings:
            return
        low = min(r.order for r in readings)
        high = max(r.order for r in readings)
        for row in self._query(after(low, inclusive=True), before(high, inclusive=True)):
            self._remember(row)
        below = self._remember(self._first(before(low), descending=True))
        above = self._remember(self._first(after(high), descending=False))
        self._low = below.order if below else NEG_INF
        self._high = above.order if above else POS_INF
        # Predecessors named by hash (seq 1 of a new boot) may lie anywhere before the range.
        wanted = sorted({r.prev for r in readings if r.seq == 1 and not r.starts_chain} - self._by_hash.keys())
        for start in range(0, len(wanted), HASH_CHUNK):
            for row in self._query(Reading.record_hash.in_(wanted[start:start + HASH_CHUNK])):
                self._remember(row)

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
        if row is None:
            row = self._remember(self._first(Reading.record_hash == digest, descending=False))
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
