"""Relayer and listener against a real database (SQLite and PostgreSQL) and the embedded chain."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eth_abi import encode
from sqlalchemy import func, select

from tests.chain.conftest import CAPACITY_W, Device
from tests.chain.db_helpers import add_installation, store
from wattwitness.chain.anchors import proof_for_reading
from wattwitness.chain.embedded import EmbeddedChain
from wattwitness.chain.ledger import REGISTRAR_ROLE, SUBMITTER_ROLE, Connection, Ledger
from wattwitness.chain.listener import catch_up, poll_once
from wattwitness.chain.relayer import AnchorSent, Skipped, anchor_all
from wattwitness.protocol import Reading as SignedReading
from wattwitness.protocol import merkle_root
from wattwitness.server.db.models import Anchor, Reading
from wattwitness.server.db.session import Database

MAX_BATCH = 8640


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    yield db
    db.dispose()


@pytest.fixture
def setup(database: Database, device: Device):
    chain = EmbeddedChain()
    conn = Connection.to_embedded(chain, 0, confirmations=2)
    ledger = Ledger.deploy(conn, forwarder=chain.accounts[3].address)
    ledger.grant_role(REGISTRAR_ROLE, conn.account.address)
    ledger.grant_role(SUBMITTER_ROLE, conn.account.address)
    installation_id = add_installation(database, device.public_key, device.meter, CAPACITY_W)
    ledger.register_installation(installation_id, device.public_key, device.meter, CAPACITY_W,
                                 chain.accounts[1].address)
    return chain, ledger, installation_id


def _anchors(database: Database) -> list[Anchor]:
    with database.scope() as session:
        return list(session.scalars(select(Anchor).order_by(Anchor.anchor_index)))


def _unanchored(database: Database) -> int:
    with database.scope() as session:
        return session.scalar(select(func.count()).select_from(Reading).where(Reading.anchor_id.is_(None))) or 0


def test_relayer_sets_the_baseline_then_anchors_everything_and_marks_readings(database, setup, device):
    chain, ledger, installation_id = setup
    items = device.readings(40)
    store(database, installation_id, items)

    (first,) = anchor_all(database, ledger, MAX_BATCH)
    assert isinstance(first, AnchorSent) and first.count == 1 and first.minted_wh == 0
    (second,) = anchor_all(database, ledger, MAX_BATCH)
    assert isinstance(second, AnchorSent) and second.count == 39
    (third,) = anchor_all(database, ledger, MAX_BATCH)
    assert isinstance(third, Skipped) and "nothing new" in third.reason

    delta = SignedReading.decode(items[-1][0]).energy_mwh - SignedReading.decode(items[0][0]).energy_mwh
    assert ledger.balance_of(chain.accounts[1].address, installation_id) == delta // 1000
    anchors = _anchors(database)
    assert [(a.anchor_index, a.count, a.head_seq) for a in anchors] == [(0, 1, 1), (1, 39, 40)]
    assert all(a.tx_hash and a.block_number and a.chain_id == chain.w3.eth.chain_id for a in anchors)
    assert anchors[1].submitted_by == bytes.fromhex(ledger.conn.account.address[2:])
    assert anchors[1].merkle_root == merkle_root([r for r, _ in items[1:]])
    assert _unanchored(database) == 0
    # confirmations: the relayer waited for 2 blocks on top of its last anchor
    assert chain.w3.eth.block_number >= anchors[1].block_number + 2


def test_a_missing_reading_stops_the_batch_until_it_arrives(database, setup, device):
    _, ledger, installation_id = setup
    items = device.readings(20)
    store(database, installation_id, items[:10] + items[11:])
    anchor_all(database, ledger, MAX_BATCH)
    (sent,) = anchor_all(database, ledger, MAX_BATCH)
    assert isinstance(sent, AnchorSent) and sent.count == 9  # seq 2..10, not across the hole at 11
    (idle,) = anchor_all(database, ledger, MAX_BATCH)
    assert isinstance(idle, Skipped)
    store(database, installation_id, items[10:11])
    (rest,) = anchor_all(database, ledger, MAX_BATCH)
    assert isinstance(rest, AnchorSent) and rest.count == 10
    assert _unanchored(database) == 0


def test_a_declared_chain_restart_does_not_block_anchoring(database, setup, device):
    _, ledger, installation_id = setup
    items = device.readings(5)
    device.boot, device.seq, device.prev = 2, 0, bytes(32)  # the device lost its chain head and says so
    items += device.readings(5)
    store(database, installation_id, items)
    anchor_all(database, ledger, MAX_BATCH)
    (sent,) = anchor_all(database, ledger, MAX_BATCH)
    assert isinstance(sent, AnchorSent) and sent.count == 9


def test_batches_respect_the_maximum_size(database, setup, device):
    _, ledger, installation_id = setup
    store(database, installation_id, device.readings(26))
    anchor_all(database, ledger, 10)
    counts = [o.count for o in anchor_all(database, ledger, 10) + anchor_all(database, ledger, 10)
              + anchor_all(database, ledger, 10) if isinstance(o, AnchorSent)]
    assert counts == [10, 10, 5]


def test_unregistered_installation_is_skipped_with_a_reason(database, setup):
    _, ledger, _ = setup
    other = Device(meter=bytes.fromhex("010203040506"))
    other_id = add_installation(database, bytes.fromhex("11" * 64), other.meter, CAPACITY_W)
    outcomes = anchor_all(database, ledger, MAX_BATCH, [other_id])
    assert outcomes == [Skipped(other_id, "not registered on the ledger (wattwitness chain register)")]


def test_proof_of_a_stored_reading_verifies_on_chain(database, setup, device):
    _, ledger, installation_id = setup
    ids = store(database, installation_id, device.readings(23))
    anchor_all(database, ledger, MAX_BATCH)
    anchor_all(database, ledger, MAX_BATCH)
    with database.scope() as session:
        for reading_id in (ids[0], ids[1], ids[12], ids[-1]):
            proof = proof_for_reading(session, reading_id)
            assert proof is not None
            assert ledger.verify_inclusion(installation_id, proof.anchor.anchor_index, proof.record,
                                           proof.leaf_index, proof.tree_size, proof.audit_path)


def _report(installation_id: int, batch: list[tuple[bytes, bytes]]) -> bytes:
    return encode(["uint256", "bytes", "bytes", "bytes32", "uint32"],
                  [installation_id, batch[-1][0], batch[-1][1], merkle_root([r for r, _ in batch]), len(batch)])


def test_listener_records_anchors_submitted_by_anyone_once(database, setup, device):
    chain, ledger, installation_id = setup
    items = device.readings(30)
    store(database, installation_id, items)
    forwarder = ledger.using(Connection.to_embedded(chain, 3))
    forwarder.on_report(b"", _report(installation_id, items[:1]))
    forwarder.on_report(b"", _report(installation_id, items[1:]))
    assert catch_up(database, ledger, confirmations=2) == 0  # neither is 2 blocks deep yet
    chain.mine(1)
    assert catch_up(database, ledger, confirmations=2) == 1
    chain.mine(1)
    assert catch_up(database, ledger, confirmations=2) == 1
    anchors = _anchors(database)
    assert [a.count for a in anchors] == [1, 29]
    assert anchors[0].submitted_by == bytes.fromhex(chain.accounts[3].address[2:])
    assert _unanchored(database) == 0
    assert catch_up(database, ledger, confirmations=2) == 0  # the cursor moved on
    chain.mine(5)
    assert catch_up(database, ledger, confirmations=2) == 0
    assert len(_anchors(database)) == 2


def test_listener_never_records_what_a_shallow_reorg_removes(database, setup, device):
    chain, ledger, installation_id = setup
    items = device.readings(10)
    store(database, installation_id, items)
    catch_up(database, ledger, confirmations=3)
    before_fork = chain.snapshot()
    submitter = ledger.using(Connection.to_embedded(chain, 0, confirmations=0))
    submitter.anchor(installation_id, items[0][0], items[0][1], merkle_root([items[0][0]]), 1)
    chain.mine(1)  # the anchor is 1 block deep: not yet read at depth 3
    assert poll_once(database, ledger, confirmations=3) is None or _anchors(database) == []
    assert _anchors(database) == []
    chain.revert_to(before_fork)  # the anchor's block is reorganised away
    chain.mine(2)
    catch_up(database, ledger, confirmations=3)
    assert _anchors(database) == []
    # A different batch anchored on the new branch is what gets recorded.
    submitter.anchor(installation_id, items[1][0], items[1][1], merkle_root([items[1][0]]), 1)
    chain.mine(3)
    assert catch_up(database, ledger, confirmations=3) == 1
    (anchor,) = _anchors(database)
    assert (anchor.head_boot, anchor.head_seq) == (1, 2)


def test_relayer_and_listener_agree(database, setup, device):
    _, ledger, installation_id = setup
    store(database, installation_id, device.readings(15))
    anchor_all(database, ledger, MAX_BATCH)
    anchor_all(database, ledger, MAX_BATCH)
    recorded = [(a.anchor_index, a.tx_hash, a.block_number) for a in _anchors(database)]
    assert catch_up(database, ledger, confirmations=2) == 2  # the same two anchors, seen from the chain
    assert [(a.anchor_index, a.tx_hash, a.block_number) for a in _anchors(database)] == recorded
