"""Recording anchors in the database, and the inclusion proof of one stored reading.

The relayer (after its transaction is confirmed) and the listener (for anchors anyone submitted, the
CRE workflow included) both call `record_anchor` with what the `BatchAnchored` event says. The anchor
row is keyed by (chain id, ledger, installation, anchor index), so recording twice is harmless. The
readings the anchor covers, those after the previous anchored head up to this head, are marked with
its id only when their count and Merkle root are exactly what the ledger stored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from wattwitness.chain.batches import Head, after, up_to
from wattwitness.chain.errors import ChainError
from wattwitness.protocol import audit_path, merkle_root, verify_inclusion
from wattwitness.server.db.models import STATUS_DIGEST_ONLY, Anchor, Installation, Reading, stored_hash

log = logging.getLogger(__name__)


class ProofMismatch(ChainError):
    """Stored readings marked with an anchor no longer reproduce its Merkle root (edited after anchoring)."""


@dataclass(frozen=True)
class AnchorFacts:
    """One `BatchAnchored` event, plus where it happened."""

    chain_id: int
    ledger_address: bytes
    installation_id: int
    anchor_index: int
    head_boot: int
    head_seq: int
    head_hash: bytes
    merkle_root: bytes
    count: int
    energy_mwh: int
    tx_hash: bytes | None
    block_number: int | None
    submitted_by: bytes | None

    @classmethod
    def from_event(cls, chain_id: int, event: dict) -> AnchorFacts:
        args = event["args"]
        tx = event.get("transactionHash")
        return cls(
            chain_id=chain_id, ledger_address=bytes.fromhex(event["address"][2:]),
            installation_id=args["installationId"], anchor_index=args["anchorIndex"], head_boot=args["boot"],
            head_seq=args["seq"], head_hash=bytes(args["headHash"]), merkle_root=bytes(args["merkleRoot"]),
            count=args["count"], energy_mwh=args["energyMwh"], tx_hash=bytes(tx) if tx is not None else None,
            block_number=event.get("blockNumber"), submitted_by=None,
        )


@dataclass(frozen=True)
class Recorded:
    anchor: Anchor
    marked: int  # readings marked with this anchor (0: the stored readings do not match the root)


def record_anchor(session: Session, facts: AnchorFacts) -> Recorded | None:
    """Stores (or refreshes) the anchor and marks its readings; None when the installation is unknown here."""
    installation = session.get(Installation, facts.installation_id)
    if installation is None:
        log.warning("anchor for installation %s, which this database does not have", facts.installation_id)
        return None
    anchor = session.scalars(select(Anchor).where(
        Anchor.chain_id == facts.chain_id, Anchor.ledger_address == facts.ledger_address,
        Anchor.installation_id == facts.installation_id, Anchor.anchor_index == facts.anchor_index,
    )).first()
    if anchor is None:
        anchor = Anchor(chain_id=facts.chain_id, ledger_address=facts.ledger_address,
                        installation_id=facts.installation_id, anchor_index=facts.anchor_index)
        session.add(anchor)
    elif anchor.head_hash != facts.head_hash:
        # The block that held the first version was reorganised away (deeper than the confirmation depth).
        log.warning("anchor %s/%s replaced after a reorg", facts.installation_id, facts.anchor_index)
        session.execute(update(Reading).where(Reading.anchor_id == anchor.id).values(anchor_id=None))
    anchor.head_boot, anchor.head_seq, anchor.head_hash = facts.head_boot, facts.head_seq, facts.head_hash
    anchor.merkle_root, anchor.count, anchor.energy_mwh = facts.merkle_root, facts.count, facts.energy_mwh
    anchor.tx_hash = facts.tx_hash or anchor.tx_hash
    anchor.block_number = facts.block_number if facts.block_number is not None else anchor.block_number
    anchor.submitted_by = facts.submitted_by or anchor.submitted_by
    session.flush()
    return Recorded(anchor, _mark_readings(session, installation, anchor))


def _mark_readings(session: Session, installation: Installation, anchor: Anchor) -> int:
    head = Head(anchor.head_boot, anchor.head_seq)
    previous = session.execute(
        select(Anchor.head_boot, Anchor.head_seq).where(
            Anchor.installation_id == installation.id, Anchor.id != anchor.id,
            (Anchor.head_boot < head.boot) | ((Anchor.head_boot == head.boot) & (Anchor.head_seq < head.seq)),
        ).order_by(Anchor.head_boot.desc(), Anchor.head_seq.desc()).limit(1)
    ).first()
    query = select(Reading).where(Reading.installation_id == installation.id, Reading.status != STATUS_DIGEST_ONLY,
                                  up_to(head))
    if previous is not None:
        query = query.where(after(Head(previous[0], previous[1])))
    rows = list(session.scalars(query.order_by(Reading.boot, Reading.seq).limit(anchor.count + 1)))
    meter = installation.shelly_mac
    records = [row.record_bytes(meter) for row in rows]
    if (not rows or len(rows) != anchor.count or stored_hash(rows[-1], meter) != anchor.head_hash
            or merkle_root(records) != anchor.merkle_root):
        log.warning("anchor %s/%s: stored readings do not match its root; readings left unmarked",
                    installation.id, anchor.anchor_index)
        return 0
    ids = [row.id for row in rows]
    session.execute(update(Reading).where(Reading.id.in_(ids)).values(anchor_id=anchor.id))
    return len(ids)


@dataclass(frozen=True)
class Proof:
    reading_id: int
    leaf_index: int
    tree_size: int
    audit_path: list[bytes]
    root: bytes
    record: bytes
    anchor: Anchor


def proof_for_reading(session: Session, reading_id: int) -> Proof | None:
    """The RFC 6962 inclusion proof of an anchored reading; None when it is unknown or not anchored yet."""
    reading = session.get(Reading, reading_id)
    if reading is None or reading.anchor_id is None:
        return None
    anchor = session.get(Anchor, reading.anchor_id)
    installation = session.get(Installation, reading.installation_id)
    assert anchor is not None and installation is not None  # foreign keys
    rows = list(session.scalars(select(Reading).where(Reading.anchor_id == anchor.id)
                                .order_by(Reading.boot, Reading.seq)))
    records = [row.record_bytes(installation.shelly_mac) for row in rows]
    index = next(i for i, row in enumerate(rows) if row.id == reading.id)
    path = audit_path(records, index)
    # Marking checked the root once; checking again costs little and shows rows edited since.
    if not verify_inclusion(records[index], index, len(records), path, anchor.merkle_root):
        raise ProofMismatch(f"reading {reading_id}: the stored batch no longer hashes to the anchored root")
    return Proof(reading.id, index, len(records), path, anchor.merkle_root, records[index], anchor)
