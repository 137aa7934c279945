"""Anchoring queries for the API: plain functions over the session, never committing."""

from __future__ import annotations

from eth_utils import to_checksum_address
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wattwitness.chain.anchors import ProofMismatch, proof_for_reading
from wattwitness.chain.batches import latest_recorded_head, next_batch
from wattwitness.server.anchoring.schemas import AnchorOut, NextAnchorOut, ProofOut
from wattwitness.server.db.models import Anchor, Installation, Reading, RetentionBaseline
from wattwitness.server.errors import Conflict, Gone, NotFound


def _installation(session: Session, installation_id: int) -> Installation:
    installation = session.get(Installation, installation_id)
    if installation is None:
        raise NotFound(f"no installation {installation_id}")
    return installation


def next_anchor(session: Session, installation_id: int, max_batch: int) -> NextAnchorOut | None:
    """The batch after the newest anchor this server has recorded; None when nothing is pending."""
    installation = _installation(session, installation_id)
    last = latest_recorded_head(session, installation_id)
    batch = next_batch(session, installation, last, max_batch)
    if batch is None:
        return None
    return NextAnchorOut(
        installation_id=installation_id, head_record=batch.head_record.hex(),
        head_signature=batch.head_signature.hex(), merkle_root=batch.merkle_root.hex(), count=batch.count,
        first_reading_id=batch.readings[0].id, head_reading_id=batch.head.id, head_boot=batch.head.boot,
        head_seq=batch.head.seq, is_baseline=last is None,
    )


def anchor_out(anchor: Anchor) -> AnchorOut:
    return AnchorOut(
        id=anchor.id, installation_id=anchor.installation_id, chain_id=anchor.chain_id,
        ledger_address=to_checksum_address(anchor.ledger_address), anchor_index=anchor.anchor_index,
        head_boot=anchor.head_boot, head_seq=anchor.head_seq, head_hash=anchor.head_hash.hex(),
        merkle_root=anchor.merkle_root.hex(), count=anchor.count, energy_wh=anchor.energy_mwh / 1000,
        tx_hash="0x" + anchor.tx_hash.hex() if anchor.tx_hash else None, block_number=anchor.block_number,
        submitted_by=to_checksum_address(anchor.submitted_by) if anchor.submitted_by else None,
        created_at=anchor.created_at,
    )


def list_anchors(session: Session, installation_id: int | None, limit: int) -> list[AnchorOut]:
    query = select(Anchor)
    if installation_id is not None:
        _installation(session, installation_id)
        query = query.where(Anchor.installation_id == installation_id)
    query = query.order_by(Anchor.head_boot.desc(), Anchor.head_seq.desc(), Anchor.id.desc()).limit(limit)
    return [anchor_out(a) for a in session.scalars(query)]


PRUNED_ADVICE = "its anchor stays on chain; prove it from an export or backup made before pruning"


def reading_proof(session: Session, reading_id: int) -> ProofOut:
    reading = session.get(Reading, reading_id)
    if reading is None:
        # Ids only grow: a missing id below the newest one was deleted, and only retention deletes readings.
        newest = session.scalar(select(func.max(Reading.id)))
        if newest is not None and reading_id < newest and session.scalar(select(RetentionBaseline.installation_id)):
            raise Gone(f"reading {reading_id} was pruned (older than the retention window); {PRUNED_ADVICE}")
        raise NotFound(f"no reading {reading_id}")
    try:
        proof = proof_for_reading(session, reading_id)
    except ProofMismatch as err:
        baseline = session.get(RetentionBaseline, reading.installation_id)
        if baseline is not None and (reading.boot, reading.seq) <= (baseline.last_boot, baseline.last_seq):
            raise Gone(f"reading {reading_id} is kept but its anchored batch was partly pruned; "
                       f"{PRUNED_ADVICE}") from err
        raise Conflict(str(err)) from err
    if proof is None:
        raise NotFound(f"reading {reading_id} is not anchored on-chain yet")
    return ProofOut(
        reading_id=reading_id, record=proof.record.hex(), leaf_index=proof.leaf_index, tree_size=proof.tree_size,
        audit_path=[p.hex() for p in proof.audit_path], root=proof.root.hex(), anchor=anchor_out(proof.anchor),
    )
