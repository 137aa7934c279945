"""The relayer: for each installation registered on the ledger, anchor the next whole batch.

The ledger's own state (last anchored (boot, seq) and head hash) says where the next batch starts, so a
relayer that crashed, or one that runs beside the CRE workflow, never anchors twice or skips. Each anchor
is sent with explicit gas, followed to its receipt and the confirmation depth, and then recorded exactly
as the listener would record it (same event, same code).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select

from wattwitness.chain.anchors import AnchorFacts, record_anchor
from wattwitness.chain.batches import Head, next_batch
from wattwitness.chain.errors import ChainError
from wattwitness.chain.ledger import Ledger
from wattwitness.server.db.models import Installation
from wattwitness.server.db.session import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnchorSent:
    installation_id: int
    anchor_index: int
    count: int
    minted_wh: int
    tx_hash: bytes
    block_number: int
    gas_used: int


@dataclass(frozen=True)
class Skipped:
    installation_id: int
    reason: str


def anchor_installation(database: Database, ledger: Ledger, installation_id: int, max_batch: int
                        ) -> AnchorSent | Skipped:
    """Sends the installation's next anchor, if there is one, and records it once it is confirmed.

    No database transaction stays open while the transaction is on its way: an SQLite reader that
    waited through a write elsewhere could not write afterwards, and a PostgreSQL one would hold locks.
    """
    state = ledger.installation(installation_id)
    if not state.registered:
        return Skipped(installation_id, "not registered on the ledger (wattwitness chain register)")
    last = Head(state.last_boot, state.last_seq) if state.has_baseline else None
    with database.scope() as session:
        installation = session.get(Installation, installation_id)
        if installation is None:
            return Skipped(installation_id, "not in the database")
        batch = next_batch(session, installation, last, max_batch)
        if batch is None:
            return Skipped(installation_id, "nothing new to anchor")
        args = (batch.head_record, batch.head_signature, batch.merkle_root, batch.count)
    result = ledger.anchor(installation_id, *args)
    (event,) = ledger.events("BatchAnchored", result)
    facts = AnchorFacts.from_event(ledger.conn.chain_id, dict(event))
    facts = AnchorFacts(**{**facts.__dict__, "submitted_by": bytes.fromhex(ledger.conn.account.address[2:])})
    with database.scope() as session:
        record_anchor(session, facts)
    return AnchorSent(installation_id, facts.anchor_index, args[3], int(event["args"]["mintedWh"]),
                      result.tx_hash, result.block_number, result.gas_used)


def anchor_all(database: Database, ledger: Ledger, max_batch: int, installation_ids: list[int] | None = None
               ) -> list[AnchorSent | Skipped]:
    """One pass over the installations; each anchor is recorded on its own, after its confirmation."""
    with database.scope() as session:
        query = select(Installation.id).where(Installation.public_key.is_not(None)).order_by(Installation.id)
        if installation_ids:
            query = query.where(Installation.id.in_(installation_ids))
        ids = list(session.scalars(query))
    outcomes: list[AnchorSent | Skipped] = []
    for installation_id in ids:
        try:
            outcome = anchor_installation(database, ledger, installation_id, max_batch)
        except ChainError as err:
            log.error("installation %s: anchoring failed: %s", installation_id, err)
            outcome = Skipped(installation_id, f"anchoring failed: {err}")
        outcomes.append(outcome)
    return outcomes
