"""Classifies signed readings against an installation's key, meter and stored chain (PROTOCOL.md §4).

The rules live here once. The server, the offline verifier and the agent's tests all use them; each
brings its own `ChainStore` (a database, or memory) behind the same small interface.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from wattwitness.protocol.keys import verify
from wattwitness.protocol.outcomes import Outcome, ProtocolError
from wattwitness.protocol.records import Reading, record_hash

DEFAULT_MAX_FUTURE_S = 300


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """What the checker needs to know of a record already accepted."""

    reading: Reading
    record: bytes
    hash: bytes


class ChainStore(Protocol):
    def get(self, boot: int, seq: int) -> StoredRecord | None: ...

    def by_hash(self, digest: bytes) -> StoredRecord | None: ...

    def latest_before(self, boot: int, seq: int) -> StoredRecord | None:
        """The stored record with the greatest (boot, seq) below the given one."""
        ...

    def successors(self, stored: StoredRecord) -> list[StoredRecord]:
        """Stored records that claim `stored` as predecessor: (boot, seq+1), or seq 1 of a later boot."""
        ...


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    detail: str
    reading: Reading | None = None
    record: bytes = b""
    hash: bytes = b""
    counter_reset: bool = False
    chain_restart: bool = False
    # Stored records that were gaps and now link to this record.
    closes_gaps: tuple[StoredRecord, ...] = ()

    @property
    def gap(self) -> bool:
        return self.outcome is Outcome.GAP


def parse_item(record_hex: str, signature_hex: str) -> tuple[bytes, bytes]:
    """The wire form `{record, signature}` as bytes; ProtocolError (malformed) for anything else."""
    try:
        record = bytes.fromhex(record_hex)
        signature = bytes.fromhex(signature_hex)
    except (ValueError, TypeError) as err:
        raise ProtocolError("record and signature must be hex") from err
    if len(signature) != 64:
        raise ProtocolError(f"a signature has 64 bytes (r||s), got {len(signature)}")
    return record, signature


def check_signed(record: bytes, signature: bytes, public_key: bytes, meter: bytes) -> Verdict | Reading:
    """The stateless checks: shape, signature, meter. Returns the decoded reading when all pass."""
    try:
        reading = Reading.decode(record)
    except ProtocolError as err:
        return Verdict(Outcome.MALFORMED, str(err))
    if len(signature) != 64:
        return Verdict(Outcome.MALFORMED, f"a signature has 64 bytes, got {len(signature)}")
    if not verify(public_key, record, signature):
        return Verdict(Outcome.INVALID_SIGNATURE, "signature does not verify under the installation's key",
                       reading, record)
    if reading.meter != meter:
        return Verdict(Outcome.WRONG_METER,
                       f"record names meter {reading.meter.hex()}, installation has {meter.hex()}",
                       reading, record)
    return reading


def check_chain(store: ChainStore, reading: Reading, record: bytes, now: int | None = None,
                max_future_s: int = DEFAULT_MAX_FUTURE_S) -> Verdict:
    """The stateful checks of a record whose signature and meter already passed."""
    digest = record_hash(record)
    same_slot = store.get(reading.boot, reading.seq)
    if same_slot is not None:
        if same_slot.record == record:
            return Verdict(Outcome.DUPLICATE, "already stored", reading, record, digest)
        return Verdict(Outcome.EQUIVOCATION,
                       f"(boot {reading.boot}, seq {reading.seq}) already holds a different record",
                       reading, record, digest)
    if now is not None and reading.ts > now + max_future_s:
        return Verdict(Outcome.FUTURE_TIMESTAMP,
                       f"ts {reading.ts} is {reading.ts - now} s ahead of the verifier's clock",
                       reading, record, digest)

    predecessor, missing, broken = _predecessor(store, reading)
    if broken:
        return Verdict(Outcome.CHAIN_BREAK, broken, reading, record, digest)
    closes = []
    for successor in store.successors(StoredRecord(reading, record, digest)):
        if successor.reading.prev != digest:
            return Verdict(Outcome.CHAIN_BREAK,
                           f"stored successor (boot {successor.reading.boot}, seq {successor.reading.seq})"
                           " links to a different record", reading, record, digest)
        closes.append(successor)

    baseline = predecessor or store.latest_before(reading.boot, reading.seq)
    counter_reset = baseline is not None and reading.energy_mwh < baseline.reading.energy_mwh
    outcome = Outcome.GAP if missing else (Outcome.COUNTER_RESET if counter_reset else Outcome.VERIFIED)
    detail = "predecessor not stored yet" if missing else outcome.value
    return Verdict(outcome, detail, reading, record, digest, counter_reset=counter_reset,
                   chain_restart=reading.starts_chain, closes_gaps=tuple(closes))


def _predecessor(store: ChainStore, reading: Reading) -> tuple[StoredRecord | None, bool, str]:
    """(linked predecessor, predecessor missing, chain-break reason)."""
    if reading.starts_chain:
        return None, False, ""
    if reading.seq > 1:
        before = store.get(reading.boot, reading.seq - 1)
        if before is None:
            return None, True, ""
        if before.hash != reading.prev:
            return None, False, f"prev does not match the stored (boot {reading.boot}, seq {reading.seq - 1})"
        return before, False, ""
    # seq 1 of a new boot: the predecessor is the last record of some earlier boot.
    linked = store.by_hash(reading.prev)
    if linked is None:
        return None, True, ""
    if linked.reading.order >= reading.order:
        return None, False, "prev names a record that is not earlier"
    latest = store.latest_before(reading.boot, reading.seq)
    if latest is not None and latest.hash != linked.hash:
        # Something was signed after the claimed predecessor: the key's history forks here.
        return None, False, "prev skips records signed after the one it names"
    return linked, False, ""


@dataclass
class MemoryChainStore:
    """A ChainStore in memory, for the offline verifier and the server's re-verification.

    Every look-up is a dict access or a binary search, so checking a year of readings (3 M records) stays
    linear; records are cheapest to add in (boot, seq) order, as both callers do.
    """

    by_order: dict[tuple[int, int], StoredRecord] = field(default_factory=dict)
    _by_hash: dict[bytes, StoredRecord] = field(default_factory=dict)
    _orders: list[tuple[int, int]] = field(default_factory=list)
    # First records of a boot by the hash they link to: the only successors that are not (boot, seq + 1).
    _boot_starts: dict[bytes, list[StoredRecord]] = field(default_factory=dict)

    def add(self, stored: StoredRecord) -> None:
        order = stored.reading.order
        if order not in self.by_order:
            insort(self._orders, order)
        self.by_order[order] = stored
        self._by_hash[stored.hash] = stored
        if stored.reading.seq == 1:
            self._boot_starts.setdefault(stored.reading.prev, []).append(stored)

    def get(self, boot: int, seq: int) -> StoredRecord | None:
        return self.by_order.get((boot, seq))

    def by_hash(self, digest: bytes) -> StoredRecord | None:
        return self._by_hash.get(digest)

    def latest_before(self, boot: int, seq: int) -> StoredRecord | None:
        index = bisect_left(self._orders, (boot, seq))
        return self.by_order[self._orders[index - 1]] if index else None

    def successors(self, stored: StoredRecord) -> list[StoredRecord]:
        found = []
        same_boot = self.by_order.get((stored.reading.boot, stored.reading.seq + 1))
        if same_boot is not None:
            found.append(same_boot)
        found += [s for s in self._boot_starts.get(stored.hash, []) if s.reading.boot > stored.reading.boot]
        return found


@dataclass
class ChainReport:
    """Counts for `wattwitness verify`'s summary line, and one (line, verdict) per problem."""

    total: int = 0
    verified: int = 0
    invalid: int = 0
    gaps: int = 0
    chain_breaks: int = 0
    counter_resets: int = 0
    problems: list[tuple[int, Verdict]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.invalid == 0 and self.chain_breaks == 0

    def summary(self) -> str:
        return (f"{self.total} records: {self.verified} verified, {self.invalid} invalid, {self.gaps} gaps, "
                f"{self.chain_breaks} chain breaks, {self.counter_resets} counter resets")


def verify_chain(items: Iterable[tuple[bytes, bytes]], public_key: bytes, meter: bytes | None = None,
                 now: int | None = None) -> ChainReport:
    """Checks a whole export offline. Items may come in any order; links are judged in (boot, seq) order.

    `meter` defaults to the meter of the first record that verifies. Lines are numbered from 1.
    """
    report = ChainReport()
    valid: list[tuple[int, Reading, bytes]] = []
    for line, (record, signature) in enumerate(items, start=1):
        report.total += 1
        if meter is None:
            try:
                candidate = Reading.decode(record)
                if len(signature) == 64 and verify(public_key, record, signature):
                    meter = candidate.meter
            except ProtocolError:
                pass
        result = check_signed(record, signature, public_key, meter or b"")
        if isinstance(result, Verdict):
            report.invalid += 1
            report.problems.append((line, result))
        else:
            valid.append((line, result, record))

    store = MemoryChainStore()
    verdicts: dict[int, Verdict] = {}
    for line, reading, record in sorted(valid, key=lambda item: item[1].order):
        verdict = check_chain(store, reading, record, now)
        verdicts[line] = verdict
        if verdict.outcome in (Outcome.VERIFIED, Outcome.GAP, Outcome.COUNTER_RESET):
            store.add(StoredRecord(reading, record, verdict.hash))
    for line, verdict in sorted(verdicts.items()):
        if verdict.outcome in (Outcome.VERIFIED, Outcome.COUNTER_RESET):
            report.verified += 1
        if verdict.counter_reset:
            report.counter_resets += 1
            report.problems.append((line, verdict))
        elif verdict.outcome is Outcome.GAP:
            report.gaps += 1
            report.problems.append((line, verdict))
        elif verdict.outcome is Outcome.CHAIN_BREAK:
            report.chain_breaks += 1
            report.problems.append((line, verdict))
        elif verdict.outcome in (Outcome.EQUIVOCATION, Outcome.FUTURE_TIMESTAMP):
            report.invalid += 1
            report.problems.append((line, verdict))
        elif verdict.outcome is Outcome.DUPLICATE:
            report.problems.append((line, verdict))
    report.problems.sort(key=lambda p: p[0])
    return report
