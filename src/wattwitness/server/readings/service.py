"""Verified ingest of signed readings: one code path for a single record and a batch of up to 5,000.

Every record goes through `wattwitness.protocol` (check_signed, then check_chain against the stored
chain). Accepted records are inserted with one executemany; `cumulative_mwh` of later rows is shifted
when a late record fills a gap, and gaps it closes get their final status. Rejections that PROTOCOL.md
calls security events are recorded in the same transaction. The service never commits.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, bindparam, update
from sqlalchemy.orm import Session

from wattwitness.protocol import (
    Outcome,
    ProtocolError,
    StoredRecord,
    Verdict,
    check_chain,
    parse_item,
)
from wattwitness.protocol import (
    Reading as SignedReading,
)
from wattwitness.protocol.records import INT64_MAX
from wattwitness.server.db.models import (
    STATUS_COUNTER_RESET,
    STATUS_GAP,
    STATUS_VERIFIED,
    Installation,
    Reading,
    RetentionBaseline,
    SecurityEvent,
)
from wattwitness.server.readings.store import ChainRow, InstallationChain, after, insert_readings
from wattwitness.server.readings.verification import refusals

_installations = cast(Table, Installation.__table__)
COUNT_READINGS = (update(_installations).where(_installations.c.id == bindparam("installation_id"))
                  .values(reading_count=_installations.c.reading_count + bindparam("added")))
STORED_OUTCOMES = frozenset({Outcome.VERIFIED, Outcome.GAP, Outcome.COUNTER_RESET})


def counter_step(previous_mwh: int, energy_mwh: int) -> int:
    """Energy credited between two consecutive readings: the counter's rise, or nothing across a reset."""
    return energy_mwh - previous_mwh if energy_mwh >= previous_mwh else 0


@dataclass(slots=True)
class ItemResult:
    index: int
    outcome: Outcome
    detail: str
    installation_id: int | None = None
    row: ChainRow | None = None

    @property
    def reading_id(self) -> int | None:
        return self.row.id if self.row else None


@dataclass
class IngestReport:
    results: list[ItemResult]
    # Installations that got new rows: the live stream is told after commit.
    touched: set[int] = field(default_factory=set)

    def count(self, *outcomes: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome in outcomes)


@dataclass(slots=True)
class _Decoded:
    index: int
    record: bytes
    signature: bytes
    reading: SignedReading


def lock_installations(session: Session, meters: set[bytes]) -> dict[bytes, Installation]:
    """Takes the installations' row locks and returns them by meter, in one statement (a write first: on
    SQLite this takes the write lock before any read, so concurrent ingests queue instead of failing)."""
    if not meters:
        return {}
    found = session.scalars(update(Installation).where(Installation.shelly_mac.in_(sorted(meters)))
                            .values(reading_count=Installation.reading_count).returning(Installation),
                            execution_options={"synchronize_session": False})
    return {installation.shelly_mac: installation for installation in found}


def ingest(session: Session, items: list[tuple[str, str]], *, max_future_s: int, client: str | None = None,
           now: int | None = None) -> IngestReport:
    """Checks and stores `(record hex, signature hex)` items in request order; one result per item."""
    now = int(time.time()) if now is None else now
    results: list[ItemResult | None] = [None] * len(items)
    decoded: list[_Decoded] = []
    for index, (record_hex, signature_hex) in enumerate(items):
        try:
            record, signature = parse_item(record_hex, signature_hex)
            reading = SignedReading.decode(record)
        except ProtocolError as err:
            results[index] = ItemResult(index, Outcome.MALFORMED, str(err))
            continue
        decoded.append(_Decoded(index, record, signature, reading))

    meters = {d.reading.meter for d in decoded}
    installations = lock_installations(session, meters)
    refusals_by_meter = {meter: _refuse(installations.get(meter), meter) for meter in meters}
    checkable: list[tuple[_Decoded, Installation]] = []
    for item in decoded:
        installation = installations.get(item.reading.meter)
        refusal = refusals_by_meter[item.reading.meter]
        if refusal is not None:
            results[item.index] = ItemResult(item.index, Outcome.UNKNOWN_METER if installation is None
                                             else Outcome.MALFORMED, refusal)
            continue
        assert installation is not None
        checkable.append((item, installation))
    keys = {installation.id: (installation.public_key or b"", installation.shelly_mac)
            for installation in installations.values()}
    refused = refusals([(item.record, item.signature, *keys[installation.id]) for item, installation in checkable])
    verified_by_installation: dict[int, list[_Decoded]] = defaultdict(list)
    for (item, installation), verdict in zip(checkable, refused, strict=True):
        if verdict is not None:
            results[item.index] = ItemResult(item.index, verdict.outcome, verdict.detail, installation.id)
        elif max(item.reading.ts, item.reading.energy_mwh) > INT64_MAX:
            results[item.index] = ItemResult(item.index, Outcome.MALFORMED,
                                             "ts or energy beyond int64: not a plausible reading", installation.id)
        else:
            verified_by_installation[installation.id].append(item)

    by_id = {installation.id: installation for installation in installations.values()}
    report = IngestReport([])
    for installation_id, batch in verified_by_installation.items():
        writer = _ChainWriter(session, by_id[installation_id])
        appending = writer.chain.prefetch(item.reading for item in batch)
        # Set by `wattwitness db prune`; it lies below the newest stored record, so appends never meet it.
        baseline = None if appending else session.get(RetentionBaseline, installation_id)
        horizon = (baseline.last_boot, baseline.last_seq) if baseline is not None else None
        for item in batch:
            signed = item.reading
            if horizon is not None and signed.order <= horizon and writer.chain.row(signed.order) is None:
                # Pruned neighbourhood: a duplicate or an equivocation could not be told apart any more.
                results[item.index] = ItemResult(
                    item.index, Outcome.MALFORMED, f"older than the retention window: readings up to boot "
                    f"{horizon[0]} seq {horizon[1]} were pruned, so this record can no longer be checked",
                    installation_id)
                continue
            verdict = check_chain(writer.chain, signed, item.record, now, max_future_s)
            row = writer.accept(verdict, item.signature) if verdict.outcome in STORED_OUTCOMES else None
            if verdict.outcome is Outcome.DUPLICATE:
                row = writer.chain.row(signed.order)
            results[item.index] = ItemResult(item.index, verdict.outcome, verdict.detail, installation_id, row)
        if writer.flush():
            report.touched.add(installation_id)

    report.results = [r for r in results if r is not None]
    events = [SecurityEvent(installation_id=result.installation_id, kind=result.outcome.value,
                            detail=f"item {result.index}: {result.detail}"[:2000], client=client,
                            created_at=datetime.now(UTC))
              for result in report.results if result.outcome.security_event]
    if events:
        session.add_all(events)
        session.flush()
    return report


def _refuse(installation: Installation | None, meter: bytes) -> str | None:
    if installation is None:
        return f"no installation is registered for meter {meter.hex().upper()}"
    if installation.legacy or installation.public_key is None:
        return f"installation {installation.id} is legacy: it has no key to verify WW2 records against"
    if not installation.is_active:
        return f"installation {installation.id} is deactivated"
    return None


class _ChainWriter:
    """Accepts verified records into one installation's chain and writes them out in one go."""

    def __init__(self, session: Session, installation: Installation) -> None:
        self.session = session
        self.installation = installation
        self.chain = InstallationChain(session, installation)
        self.pending: list[ChainRow] = []
        self.status_updates: dict[int, str] = {}

    def accept(self, verdict: Verdict, signature: bytes) -> ChainRow:
        assert verdict.reading is not None
        order = verdict.reading.order
        below = self.chain.row_before(order)
        cumulative = below.cumulative_mwh + counter_step(below.energy_mwh, verdict.reading.energy_mwh) if below else 0
        row = ChainRow(StoredRecord(verdict.reading, verdict.record, verdict.hash), signature, verdict.outcome.value,
                       cumulative)
        above = self.chain.row_after(order)
        if above is not None:
            shift = cumulative + counter_step(row.energy_mwh, above.energy_mwh) - above.cumulative_mwh
            if shift:
                self._shift_after(order, shift)
        for successor in verdict.closes_gaps:
            closed = self.chain.row(successor.reading.order)
            if closed is not None and closed.status == STATUS_GAP:
                closed.status = STATUS_COUNTER_RESET if closed.energy_mwh < row.energy_mwh else STATUS_VERIFIED
                if closed.id is not None:
                    self.status_updates[closed.id] = closed.status
        self.chain.add_pending(row)
        self.pending.append(row)
        return row

    def _shift_after(self, order: tuple[int, int], shift: int) -> None:
        """A record landed inside the stored history: every later row's lifetime total moves by `shift`."""
        for row in self.chain.rows_after(order):
            row.cumulative_mwh += shift
        # The database rows (also those outside the prefetched view); pending rows are not inserted yet.
        self.session.execute(update(Reading).where(Reading.installation_id == self.installation.id, after(order))
                             .values(cumulative_mwh=Reading.cumulative_mwh + shift))

    def flush(self) -> bool:
        for reading_id, status in self.status_updates.items():
            self.session.execute(update(Reading).where(Reading.id == reading_id).values(status=status))
        if not self.pending:
            return bool(self.status_updates)
        created = datetime.now(UTC)
        installation_id = self.installation.id
        rows = [(installation_id, r.stored.reading.boot, r.stored.reading.seq, r.stored.reading.ts,
                 r.stored.reading.power_mw, r.stored.reading.energy_mwh, r.stored.reading.prev, r.signature,
                 r.stored.hash, r.status, r.cumulative_mwh, created) for r in self.pending]
        for row, reading_id in zip(self.pending, insert_readings(self.session, rows), strict=True):
            row.id = reading_id
            row.created_at = created
        self.session.execute(COUNT_READINGS, {"installation_id": self.installation.id, "added": len(self.pending)})
        self.pending = []
        return True
