"""The listener: follows `BatchAnchored` from a persisted block cursor and records every anchor.

It reads only blocks at least `confirmations` deep, so a reorganisation shallower than that never
reaches the database; anchors from any submitter (our relayer, the CRE forwarder, anyone with the role)
are recorded the same way. The cursor advances in the same transaction as the anchors it covers, so a
crash re-reads a range at worst (recording is idempotent) and never skips one.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from wattwitness.chain.anchors import AnchorFacts, record_anchor
from wattwitness.chain.errors import ChainError
from wattwitness.chain.ledger import NODE_ERRORS, Ledger
from wattwitness.server.db.models import ChainCursor
from wattwitness.server.db.session import Database

# Blocks per eth_getLogs request: public nodes cap the range (often 10,000 or less).
MAX_RANGE = 2_000


@dataclass(frozen=True)
class PollResult:
    from_block: int
    to_block: int
    recorded: int


def _cursor(session: Session, chain_id: int, ledger_address: bytes, start_block: int) -> ChainCursor:
    cursor = session.get(ChainCursor, (chain_id, ledger_address))
    if cursor is None:
        cursor = ChainCursor(chain_id=chain_id, ledger_address=ledger_address, last_block=max(start_block - 1, 0))
        session.add(cursor)
        session.flush()
    return cursor


def poll_once(database: Database, ledger: Ledger, confirmations: int, start_block: int = 0) -> PollResult | None:
    """Reads the next confirmed range of blocks; None when no new confirmed block exists yet."""
    try:
        chain_id = ledger.conn.chain_id
        safe_head = ledger.conn.w3.eth.block_number - confirmations
    except NODE_ERRORS as err:
        raise ChainError(f"the chain node failed: {err.__class__.__name__}: {err}") from err
    address = bytes.fromhex(ledger.address[2:])
    with database.scope() as session:
        first = _cursor(session, chain_id, address, start_block).last_block + 1
    if first > safe_head:
        return None
    last = min(safe_head, first + MAX_RANGE - 1)
    # Node requests first, with no database transaction open; then one short transaction writes.
    found = []
    try:
        for event in ledger.batch_anchored_logs(first, last):
            facts = AnchorFacts.from_event(chain_id, dict(event))
            sender = ledger.conn.w3.eth.get_transaction(event["transactionHash"])["from"]
            found.append(AnchorFacts(**{**facts.__dict__, "submitted_by": bytes.fromhex(sender[2:])}))
    except NODE_ERRORS as err:
        raise ChainError(f"the chain node failed while reading logs: {err.__class__.__name__}: {err}") from err
    with database.scope() as session:
        recorded = sum(record_anchor(session, facts) is not None for facts in found)
        cursor = _cursor(session, chain_id, address, start_block)
        cursor.last_block = max(cursor.last_block, last)
    return PollResult(first, last, recorded)


def catch_up(database: Database, ledger: Ledger, confirmations: int, start_block: int = 0) -> int:
    """Polls until the cursor reaches the confirmed head; returns how many anchors were recorded."""
    total = 0
    while (result := poll_once(database, ledger, confirmations, start_block)) is not None:
        total += result.recorded
    return total
