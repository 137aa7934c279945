"""What to anchor next for an installation, from the stored readings (PROTOCOL.md §6).

A batch is the readings after the last anchored head, in (boot, seq) order, up to the newest one whose
chain back to that head is whole: every record follows the one before it (prev = hash of it, (boot,
seq) steps by the successor rule), or openly restarts the chain (prev = zero, a device that lost its
chain head). A missing record stops the batch until it arrives, so an anchor never skips a hole.
An installation's first anchor is its first record alone: it sets the on-chain baseline.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from wattwitness.protocol import ZERO_HASH, follows, merkle_root
from wattwitness.protocol import Reading as SignedReading
from wattwitness.server.db.models import STATUS_DIGEST_ONLY, Anchor, Installation, Reading


@dataclass(frozen=True)
class Head:
    """An anchored head, as far as ordering goes."""

    boot: int
    seq: int


@dataclass(frozen=True)
class Batch:
    installation_id: int
    readings: list[Reading]
    records: list[bytes]

    @property
    def head(self) -> Reading:
        return self.readings[-1]

    @property
    def head_record(self) -> bytes:
        return self.records[-1]

    @property
    def head_signature(self) -> bytes:
        return self.head.signature

    @property
    def count(self) -> int:
        return len(self.records)

    @property
    def merkle_root(self) -> bytes:
        return merkle_root(self.records)


def after(head: Head):
    """SQL condition: (boot, seq) strictly after `head`."""
    return or_(Reading.boot > head.boot, and_(Reading.boot == head.boot, Reading.seq > head.seq))


def up_to(head: Head):
    """SQL condition: (boot, seq) at or before `head`."""
    return or_(Reading.boot < head.boot, and_(Reading.boot == head.boot, Reading.seq <= head.seq))


def latest_recorded_head(session: Session, installation_id: int) -> Head | None:
    """The newest head among the anchors this database knows for the installation (any ledger)."""
    row = session.execute(
        select(Anchor.head_boot, Anchor.head_seq).where(Anchor.installation_id == installation_id)
        .order_by(Anchor.head_boot.desc(), Anchor.head_seq.desc()).limit(1)
    ).first()
    return Head(row[0], row[1]) if row else None


def next_batch(session: Session, installation: Installation, last: Head | None, max_batch: int) -> Batch | None:
    """The next batch after `last` (None: the installation's first anchor), or None when nothing is ready."""
    if installation.public_key is None:  # legacy installations have nothing a contract could verify
        return None
    meter = installation.shelly_mac
    base = select(Reading).where(Reading.installation_id == installation.id, Reading.status != STATUS_DIGEST_ONLY)
    order = (Reading.boot, Reading.seq)
    if last is None:
        first = session.scalars(base.order_by(*order).limit(1)).first()
        return Batch(installation.id, [first], [first.record_bytes(meter)]) if first else None

    anchored = session.scalars(base.where(Reading.boot == last.boot, Reading.seq == last.seq)).first()
    if anchored is None:
        return None  # the anchored head is not stored here: wholeness back to it cannot be shown
    previous = anchored.record_bytes(meter)
    readings: list[Reading] = []
    records: list[bytes] = []
    for row in session.scalars(base.where(after(last)).order_by(*order).limit(max_batch)):
        record = row.record_bytes(meter)
        if not _links(SignedReading.decode(record), previous):
            break
        readings.append(row)
        records.append(record)
        previous = record
    return Batch(installation.id, readings, records) if readings else None


def _links(successor: SignedReading, predecessor_record: bytes) -> bool:
    if follows(successor, predecessor_record):
        return True
    # A declared chain restart is not a hole: the device says it lost its head, and the server shows it.
    predecessor = SignedReading.decode(predecessor_record)
    return successor.prev == ZERO_HASH and successor.order > predecessor.order
