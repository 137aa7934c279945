"""WattWitnessLedger: on-chain inclusion proofs, reentrancy through the mint, and the migration path."""

from __future__ import annotations

import pytest

from tests import vectors
from tests.chain.conftest import CAPACITY_W, INSTALLATION, Device, LedgerWorld
from wattwitness.chain import compiled
from wattwitness.chain.errors import LedgerReverted
from wattwitness.chain.ledger import (
    GAS_DEPLOY,
    REGISTRAR_ROLE,
    SUBMITTER_ROLE,
    Connection,
    Ledger,
    _send_tx,
    _tx_fields,
    send,
)
from wattwitness.protocol import Reading, audit_path, merkle_root

MERKLE_CASES = vectors.ww2()["merkle"]

@pytest.fixture
def vector_batches_world(world: LedgerWorld) -> LedgerWorld:
    """One installation per vector batch (same key), each anchored with its batch of chain[:count]."""
    items = vectors.chain_items()
    for case in MERKLE_CASES:
        installation_id = 100 + case["count"]
        world.ledger.register_installation(
            installation_id, vectors.public_key(), vectors.meter(), CAPACITY_W, world.beneficiary
        )
        head, signature = items[case["count"] - 1]
        world.ledger.anchor(installation_id, head, signature, bytes.fromhex(case["root"]), case["count"])
    return world

def test_every_vector_audit_path_verifies_on_chain(vector_batches_world: LedgerWorld):
    records = [r for r, _ in vectors.chain_items()]
    checked = 0
    for case in MERKLE_CASES:
        n = case["count"]
        assert vector_batches_world.ledger.anchor_at(100 + n, 0).merkle_root.hex() == case["root"]
        for proof in case["proofs"]:
            path = [bytes.fromhex(p) for p in proof["path"]]
            assert path == audit_path(records[:n], proof["index"])  # the library and the vectors agree
            ledger = vector_batches_world.ledger
            assert ledger.verify_inclusion(100 + n, 0, records[proof["index"]], proof["index"], n, path)
            checked += 1
    assert checked == sum(c["count"] for c in MERKLE_CASES)

@pytest.mark.parametrize("case", [c for c in MERKLE_CASES if c["count"] > 1], ids=lambda c: f"n={c['count']}")
def test_wrong_proofs_are_rejected_on_chain(vector_batches_world: LedgerWorld, case):
    ledger = vector_batches_world.ledger
    records = [r for r, _ in vectors.chain_items()]
    n, installation_id = case["count"], 100 + case["count"]
    proof = case["proofs"][-1]
    index, path = proof["index"], [bytes.fromhex(p) for p in proof["path"]]
    record = records[index]
    assert ledger.verify_inclusion(installation_id, 0, record, index, n, path)
    assert not ledger.verify_inclusion(installation_id, 0, record, index, n, [bytes(32), *path[1:]])  # bad sibling
    assert not ledger.verify_inclusion(installation_id, 0, records[(index + 1) % n], index, n, path)  # other record
    assert not ledger.verify_inclusion(installation_id, 0, record, (index + 1) % n, n, path)  # other position
    assert not ledger.verify_inclusion(installation_id, 0, record, index, n + 1, path)  # not the anchored size
    assert not ledger.verify_inclusion(installation_id, 0, record, n, n, path)  # index outside the tree
    assert not ledger.verify_inclusion(installation_id, 0, record, index, n, [*path, path[0]])  # too long
    with pytest.raises(LedgerReverted, match="UnknownAnchor"):
        ledger.verify_inclusion(installation_id, 1, record, index, n, path)

def test_proof_for_a_large_batch_from_the_library(world: LedgerWorld, device: Device):
    world.anchor_batch(device.readings(1))
    batch = device.readings(37)
    records = [r for r, _ in batch]
    world.anchor_batch(batch)
    for index in (0, 17, 31, 32, 36):
        assert world.ledger.verify_inclusion(INSTALLATION, 1, records[index], index, 37, audit_path(records, index))

def _deploy_artifact(conn: Connection, name: str) -> str:
    art = compiled.load(name)
    factory = conn.w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
    result = _send_tx(conn, factory.constructor().build_transaction(_tx_fields(conn, GAS_DEPLOY)))
    return conn.w3.eth.get_transaction_receipt(result.tx_hash)["contractAddress"]

def test_beneficiary_reentering_anchor_from_the_mint_hook_fails(world: LedgerWorld, device: Device):
    w3 = world.chain.w3
    attacker_address = _deploy_artifact(world.admin, "ReentrantBeneficiary")
    attacker = w3.eth.contract(address=attacker_address, abi=compiled.load("ReentrantBeneficiary")["abi"])
    # The attacker even holds the submitter role: only the reentrancy guard stands in its way.
    world.ledger.grant_role(SUBMITTER_ROLE, attacker_address)
    world.ledger.transact("setBeneficiary", INSTALLATION, attacker_address)

    world.anchor_batch(device.readings(1))
    first, second = device.readings(20), device.readings(20)
    replay_args = (INSTALLATION, second[-1][0], second[-1][1], merkle_root([r for r, _ in second]), 20)
    reentry = world.ledger.contract.encode_abi("anchor", args=replay_args)

    send(world.admin, attacker.functions.arm(world.ledger.address, reentry), 600_000)
    world.anchor_batch(first)  # mints to the attacker, which re-enters anchor()

    assert attacker.functions.reentryAttempted().call()
    assert not attacker.functions.reentrySucceeded().call()
    revert = bytes(attacker.functions.reentryRevertData().call())
    assert revert[:4] == bytes.fromhex("3ee5aeb5")  # ReentrancyGuardReentrantCall()
    assert world.ledger.anchor_count(INSTALLATION) == 2
    expected = Reading.decode(first[-1][0]).energy_mwh - world.ledger.anchor_at(INSTALLATION, 0).energy_mwh
    assert world.ledger.balance_of(attacker_address, INSTALLATION) == expected // 1000

def test_successor_ledger_starts_from_the_last_head_and_nothing_is_credited_twice(world: LedgerWorld, device: Device):
    old = world.ledger
    world.anchor_batch(device.readings(1))
    last_batch = device.readings(25)
    world.anchor_batch(last_batch)
    old_state = old.installation(INSTALLATION)

    new = Ledger.deploy(world.admin, predecessor=old.address)
    new.grant_role(REGISTRAR_ROLE, world.admin.account.address)
    new.grant_role(SUBMITTER_ROLE, world.admin.account.address)
    with pytest.raises(LedgerReverted, match="NotSuccessor"):
        new.transact("importInstallation", INSTALLATION, gas=300_000)  # the old ledger is still live
    old.transact("retire", new.address)
    with pytest.raises(LedgerReverted, match="WattWitnessLedgerRetired"):
        world.anchor_batch(device.readings(3))  # the old ledger accepts nothing any more
    new.transact("importInstallation", INSTALLATION, gas=300_000)

    imported = new.installation(INSTALLATION)
    assert imported == old_state
    # The head the old ledger anchored last cannot be credited again on the new one.
    with pytest.raises(LedgerReverted, match="StaleHead"):
        new.anchor(INSTALLATION, last_batch[-1][0], last_batch[-1][1], merkle_root([r for r, _ in last_batch]), 25)
    batch = device.readings(30)
    new.anchor(INSTALLATION, batch[-1][0], batch[-1][1], merkle_root([r for r, _ in batch]), len(batch))
    total = old.balance_of(world.beneficiary, INSTALLATION) + new.balance_of(world.beneficiary, INSTALLATION)
    first_energy = old.anchor_at(INSTALLATION, 0).energy_mwh
    assert total == (Reading.decode(batch[-1][0]).energy_mwh - first_energy) // 1000
    assert new.anchor_count(INSTALLATION) == 1
