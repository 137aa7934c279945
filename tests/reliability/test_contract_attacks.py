"""Contract attacks, each refused with its named error AND leaving every balance and anchor unchanged.

tests/chain already shows each attack reverts with the right custom error (non-submitter, wrong
forwarder, replayed/older head, forged and other-key signatures, wrong meter, capacity, re-entrant
beneficiary). What this adds: one table, run against a ledger that has already credited energy, that
checks the state after every refused attempt — the beneficiary's and the attacker's token balances,
the anchor count and the last anchored head are exactly what they were.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from eth_abi import encode

from tests.chain.conftest import INSTALLATION, Device, LedgerWorld, make_world
from wattwitness.chain.embedded import EmbeddedChain
from wattwitness.chain.errors import LedgerReverted
from wattwitness.protocol import merkle_root
from wattwitness.protocol.keys import private_key_from_scalar

ATTACKER_INDEX = 4


@dataclass(frozen=True)
class Attack:
    name: str
    error: str
    run: Callable[[LedgerWorld, Device, list[tuple[bytes, bytes]]], object]


def _report(batch: list[tuple[bytes, bytes]]) -> bytes:
    records = [r for r, _ in batch]
    return encode(["uint256", "bytes", "bytes", "bytes32", "uint32"],
                  [INSTALLATION, batch[-1][0], batch[-1][1], merkle_root(records), len(records)])


def _anchor_as(world: LedgerWorld, index: int, batch: list[tuple[bytes, bytes]]) -> object:
    records = [r for r, _ in batch]
    return world.as_account(index).anchor(INSTALLATION, batch[-1][0], batch[-1][1], merkle_root(records),
                                          len(records))


def _forged_energy(world: LedgerWorld, device: Device, anchored: list[tuple[bytes, bytes]]) -> object:
    record, signature = device.readings(5)[-1]
    tampered = bytearray(record)
    tampered[41] ^= 0x40  # a bigger energy counter than the device signed
    return world.ledger.anchor(INSTALLATION, bytes(tampered), signature, merkle_root([bytes(tampered)]), 1)


def _stranger(world: LedgerWorld, device: Device, anchored: list[tuple[bytes, bytes]]) -> object:
    stranger = Device(private_key=private_key_from_scalar(0xBAD5EED), seq=device.seq, ts=device.ts,
                      energy_mwh=device.energy_mwh, prev=device.prev)
    return world.anchor_batch(stranger.readings(3))


ATTACKS = [
    Attack("non_submitter", "AccessControlUnauthorizedAccount",
           lambda world, device, _: _anchor_as(world, ATTACKER_INDEX, device.readings(3))),
    Attack("wrong_forwarder", "WattWitnessLedgerNotForwarder",
           lambda world, device, _: world.as_account(ATTACKER_INDEX).on_report(b"", _report(device.readings(3)))),
    Attack("replayed_head", "WattWitnessLedgerStaleHead", lambda world, _, anchored: world.anchor_batch(anchored)),
    Attack("older_head", "WattWitnessLedgerStaleHead", lambda world, _, anchored: world.anchor_batch(anchored[:5])),
    Attack("replayed_head_via_forwarder", "WattWitnessLedgerStaleHead",
           lambda world, _, anchored: world.ledger.using(world.forwarder).on_report(b"", _report(anchored))),
    Attack("forged_signature", "WattWitnessLedgerInvalidSignature", _forged_energy),
    Attack("wrong_key", "WattWitnessLedgerInvalidSignature", _stranger),
    Attack("capacity_exceeded", "WattWitnessLedgerCapacityExceeded",
           lambda world, device, _: world.anchor_batch(device.readings(1, energy_step_mwh=10_000_000))),
]


@pytest.mark.parametrize("attack", ATTACKS, ids=[attack.name for attack in ATTACKS])
def test_refused_attack_changes_no_balance(attack: Attack) -> None:
    device = Device()
    world = make_world(EmbeddedChain(), device)
    world.anchor_batch(device.readings(1))  # baseline
    anchored = device.readings(20)
    world.anchor_batch(anchored)  # credits energy: there is something to protect
    attacker = world.chain.accounts[ATTACKER_INDEX].address

    def state() -> tuple[int, int, int, object]:
        count = world.ledger.anchor_count(INSTALLATION)
        return (world.ledger.balance_of(world.beneficiary, INSTALLATION),
                world.ledger.balance_of(attacker, INSTALLATION), count, world.ledger.anchor_at(INSTALLATION, count - 1))

    before = state()
    assert before[0] > 0
    with pytest.raises(LedgerReverted, match=f"^{attack.error}\\("):
        attack.run(world, device, anchored)
    assert state() == before
