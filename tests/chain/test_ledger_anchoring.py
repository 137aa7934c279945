"""WattWitnessLedger in the embedded EVM: what `anchor` credits, and everything it must refuse."""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_utils import keccak

from tests import vectors
from tests.chain.conftest import CAPACITY_W, INSTALLATION, Device, LedgerWorld, make_world
from wattwitness.chain.embedded import EmbeddedChain
from wattwitness.chain.errors import LedgerReverted
from wattwitness.chain.ledger import SUBMITTER_ROLE
from wattwitness.protocol import Reading, merkle_root, record_hash
from wattwitness.protocol.keys import N


def reverted(name: str):
    return pytest.raises(LedgerReverted, match=f"^{name}\\(")


def test_whole_chain_in_several_batches_mints_exactly_the_counter_delta(world: LedgerWorld, device: Device):
    first = device.readings(1)
    later = device.readings(60, power_w=1_234)
    world.anchor_batch(first)  # baseline: credits nothing
    assert world.ledger.balance_of(world.beneficiary, INSTALLATION) == 0
    batches = [later[:7], later[7:30], later[30:31], later[31:]]
    for batch in batches:
        world.anchor_batch(batch)

    first_energy = Reading.decode(first[0][0]).energy_mwh
    last_energy = Reading.decode(later[-1][0]).energy_mwh
    delta = last_energy - first_energy
    assert delta > 20_000  # the test means something only if several whole Wh were produced
    assert world.ledger.balance_of(world.beneficiary, INSTALLATION) == delta // 1000
    state = world.ledger.installation(INSTALLATION)
    assert state.carry_mwh == delta % 1000
    assert state.last_head_hash == record_hash(later[-1][0])
    assert world.ledger.anchor_count(INSTALLATION) == 1 + len(batches)
    stored = world.ledger.anchor_at(INSTALLATION, 2)
    assert stored.merkle_root == merkle_root([r for r, _ in batches[1]])
    assert stored.count == len(batches[1])
    assert (stored.boot, stored.seq) == (1, 31)


def test_anchored_event_carries_the_head(world: LedgerWorld, device: Device):
    world.anchor_batch(device.readings(1))
    batch = device.readings(5)
    result = world.anchor_batch(batch)
    (event,) = world.ledger.events("BatchAnchored", result)
    head = Reading.decode(batch[-1][0])
    assert event["args"]["headHash"] == record_hash(batch[-1][0])
    assert event["args"]["anchorIndex"] == 1
    assert (event["args"]["boot"], event["args"]["seq"], event["args"]["energyMwh"]) == (1, 6, head.energy_mwh)
    assert event["args"]["count"] == 5 and not event["args"]["counterReset"]


def test_forged_signature_is_refused(world: LedgerWorld):
    forged = vectors.ww2()["negatives"][0]  # energy changed after signing
    record, signature = bytes.fromhex(forged["record"]), bytes.fromhex(forged["signature"])
    with reverted("WattWitnessLedgerInvalidSignature"):
        world.ledger.anchor(INSTALLATION, record, signature, merkle_root([record]), 1)


@pytest.mark.parametrize("which", [6, 7], ids=["all-zero", "r=s=n"])
def test_out_of_range_signature_is_refused(world: LedgerWorld, which: int):
    case = vectors.ww2()["negatives"][which]
    record, signature = bytes.fromhex(case["record"]), bytes.fromhex(case["signature"])
    with reverted("WattWitnessLedgerInvalidSignature"):
        world.ledger.anchor(INSTALLATION, record, signature, merkle_root([record]), 1)


def test_head_signed_by_another_key_is_refused(world: LedgerWorld):
    stranger = Device(private_key=_other_key())
    batch = stranger.readings(1)
    with reverted("WattWitnessLedgerInvalidSignature"):
        world.anchor_batch(batch)


def _other_key():
    from wattwitness.protocol.keys import private_key_from_scalar

    return private_key_from_scalar(0xC0FFEE)


def test_head_of_another_meter_is_refused(world: LedgerWorld):
    other_meter = Device(meter=bytes.fromhex("aabbccddeeff"))
    with reverted("WattWitnessLedgerWrongMeter"):
        world.anchor_batch(other_meter.readings(1))


def test_replayed_and_older_heads_are_refused(world: LedgerWorld, device: Device):
    history = device.readings(10)
    world.anchor_batch(history[:1])
    world.anchor_batch(history[1:6])
    with reverted("WattWitnessLedgerStaleHead"):
        world.anchor_batch(history[1:6])  # the same head again
    with reverted("WattWitnessLedgerStaleHead"):
        world.anchor_batch(history[1:3])  # an older head
    world.anchor_batch(history[6:])
    assert world.ledger.anchor_count(INSTALLATION) == 3


def test_only_submitters_may_anchor(world: LedgerWorld, device: Device):
    batch = device.readings(1)
    with reverted("AccessControlUnauthorizedAccount"):
        world.as_account(2).anchor(INSTALLATION, batch[0][0], batch[0][1], merkle_root([batch[0][0]]), 1)
    world.ledger.grant_role(SUBMITTER_ROLE, world.chain.accounts[2].address)
    world.as_account(2).anchor(INSTALLATION, batch[0][0], batch[0][1], merkle_root([batch[0][0]]), 1)


def _report(batch: list[tuple[bytes, bytes]]) -> bytes:
    records = [r for r, _ in batch]
    return encode(
        ["uint256", "bytes", "bytes", "bytes32", "uint32"],
        [INSTALLATION, batch[-1][0], batch[-1][1], merkle_root(records), len(records)],
    )


def test_cre_report_from_the_forwarder_takes_the_anchor_path(world: LedgerWorld, device: Device):
    forwarder = world.ledger.using(world.forwarder)
    forwarder.on_report(b"workflow-metadata", _report(device.readings(1)))
    batch = device.readings(30)
    forwarder.on_report(b"", _report(batch))
    first = world.ledger.anchor_at(INSTALLATION, 0)
    delta = Reading.decode(batch[-1][0]).energy_mwh - first.energy_mwh
    assert world.ledger.balance_of(world.beneficiary, INSTALLATION) == delta // 1000
    with reverted("WattWitnessLedgerStaleHead"):
        forwarder.on_report(b"", _report(batch))  # the same checks as anchor()


def test_report_from_anyone_else_is_refused(world: LedgerWorld, device: Device):
    with reverted("WattWitnessLedgerNotForwarder"):
        world.ledger.on_report(b"", _report(device.readings(1)))  # the admin is not the forwarder
    with reverted("WattWitnessLedgerNotForwarder"):
        world.as_account(4).on_report(b"", _report(device.readings(1)))


def test_ledger_declares_the_cre_receiver_interface(world: LedgerWorld):
    on_report = keccak(text="onReport(bytes,bytes)")[:4]  # IReceiver's only function: its ERC-165 id
    assert world.ledger.call("supportsInterface", on_report)
    assert world.ledger.call("supportsInterface", bytes.fromhex("d9b67a26"))  # ERC-1155
    assert not world.ledger.call("supportsInterface", bytes.fromhex("deadbeef"))


def test_more_than_capacity_times_elapsed_is_refused(world: LedgerWorld, device: Device):
    world.anchor_batch(device.readings(1))
    # 10 s at 5 kW with the default 20 % margin allows 16.666 Wh; claim 17 Wh in one step.
    too_much = device.readings(1, energy_step_mwh=17_000)
    with reverted("WattWitnessLedgerCapacityExceeded"):
        world.anchor_batch(too_much)
    assert world.ledger.balance_of(world.beneficiary, INSTALLATION) == 0


def test_capacity_at_the_margin_is_accepted(world: LedgerWorld, device: Device):
    world.anchor_batch(device.readings(1))
    limit = CAPACITY_W * 10 * 1000 * 12_000 // (3600 * 10_000)
    world.anchor_batch(device.readings(1, energy_step_mwh=limit))
    assert world.ledger.balance_of(world.beneficiary, INSTALLATION) == limit // 1000


def test_counter_reset_credits_nothing_and_sets_a_new_baseline(world: LedgerWorld, device: Device):
    world.anchor_batch(device.readings(1))
    world.anchor_batch(device.readings(10))
    before = world.ledger.balance_of(world.beneficiary, INSTALLATION)
    device.energy_mwh = 500  # the meter's counter was reset (new meter, firmware reset)
    reset_batch = device.readings(3)
    result = world.anchor_batch(reset_batch)
    (event,) = world.ledger.events("BatchAnchored", result)
    assert event["args"]["counterReset"] and event["args"]["mintedWh"] == 0
    assert world.ledger.balance_of(world.beneficiary, INSTALLATION) == before
    carry = world.ledger.installation(INSTALLATION).carry_mwh
    after_reset = device.readings(20)
    world.anchor_batch(after_reset)
    grown = Reading.decode(after_reset[-1][0]).energy_mwh - Reading.decode(reset_batch[-1][0]).energy_mwh
    assert world.ledger.balance_of(world.beneficiary, INSTALLATION) == before + (carry + grown) // 1000


def test_high_s_signature_is_normalised_and_accepted(world: LedgerWorld):
    case = vectors.ww2()["high_s"]
    record, signature = bytes.fromhex(case["record"]), bytes.fromhex(case["signature"])
    assert int.from_bytes(signature[32:], "big") > N // 2
    world.ledger.anchor(INSTALLATION, record, signature, merkle_root([record]), 1)
    assert world.ledger.anchor_count(INSTALLATION) == 1


def test_high_s_of_a_crediting_head(world: LedgerWorld, device: Device):
    world.anchor_batch(device.readings(1))
    batch = device.readings(12)
    head, signature = batch[-1]
    s = int.from_bytes(signature[32:], "big")
    twin = signature[:32] + (N - s).to_bytes(32, "big")
    world.ledger.anchor(INSTALLATION, head, twin, merkle_root([r for r, _ in batch]), len(batch))
    assert world.ledger.balance_of(world.beneficiary, INSTALLATION) > 0


def test_head_from_the_future_is_refused(world: LedgerWorld, device: Device):
    now = world.chain.w3.eth.get_block("latest")["timestamp"]
    device.ts = now + 3600
    with reverted("WattWitnessLedgerFutureHead"):
        world.anchor_batch(device.readings(1))


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda r: r[:73], "length"),
        (lambda r: b"XW" + r[2:], "magic"),
        (lambda r: r[:2] + b"\x03" + r[3:], "version"),
        (lambda r: r[:3] + b"\x00" + r[4:], "type"),
    ],
)
def test_malformed_head_is_refused(world: LedgerWorld, device: Device, mutate, reason: str):
    record, signature = device.readings(1)[0]
    bad = mutate(record)
    with pytest.raises(LedgerReverted, match=f"MalformedHead\\({reason}\\)"):
        world.ledger.anchor(INSTALLATION, bad, signature, merkle_root([bad]), 1)


def test_empty_batch_and_unknown_installation_are_refused(world: LedgerWorld, device: Device):
    record, signature = device.readings(1)[0]
    with reverted("WattWitnessLedgerEmptyBatch"):
        world.ledger.anchor(INSTALLATION, record, signature, merkle_root([record]), 0)
    with reverted("WattWitnessLedgerUnknownInstallation"):
        world.ledger.anchor(99, record, signature, merkle_root([record]), 1)


def test_without_a_p256_verifier_anchoring_reverts_with_verifier_absent(device: Device):
    world = make_world(EmbeddedChain(with_p256=False), device)
    record, signature = device.readings(1)[0]
    with reverted("WattWitnessLedgerVerifierAbsent"):
        world.ledger.anchor(INSTALLATION, record, signature, merkle_root([record]), 1)
    assert world.ledger.anchor_count(INSTALLATION) == 0


def test_verifier_address_is_configurable(world: LedgerWorld, device: Device):
    world.ledger.transact("setVerifier", "0x" + "00" * 19 + "42")  # nothing lives there
    with reverted("WattWitnessLedgerVerifierAbsent"):
        world.anchor_batch(device.readings(1))
    world.ledger.transact("setVerifier", "0x" + "00" * 18 + "0100")
    world.anchor_batch(device.readings(1))


def test_key_rotation_is_explicit_and_restarts_the_baseline(world: LedgerWorld, device: Device):
    world.anchor_batch(device.readings(1))
    world.anchor_batch(device.readings(5))
    balance = world.ledger.balance_of(world.beneficiary, INSTALLATION)
    new_device = Device(private_key=_other_key(), energy_mwh=1_000)
    with reverted("AccessControlUnauthorizedAccount"):
        world.as_account(2).transact("rotateKey", INSTALLATION, new_device.public_key, new_device.meter)
    result = world.ledger.transact("rotateKey", INSTALLATION, new_device.public_key, new_device.meter)
    (event,) = world.ledger.events("KeyRotated", result)
    assert event["args"]["newKeyX"] == new_device.public_key[:32]
    with reverted("WattWitnessLedgerInvalidSignature"):
        world.anchor_batch(device.readings(5))  # the old key no longer counts
    world.anchor_batch(new_device.readings(1))  # new baseline: boot 1 seq 1 is accepted again
    assert world.ledger.balance_of(world.beneficiary, INSTALLATION) == balance


def test_capacity_can_be_raised_by_the_admin_only(world: LedgerWorld, device: Device):
    world.anchor_batch(device.readings(1))
    big_step = device.readings(1, energy_step_mwh=30_000)  # 30 Wh in 10 s: 10.8 kW
    with reverted("WattWitnessLedgerCapacityExceeded"):
        world.anchor_batch(big_step)
    with reverted("AccessControlUnauthorizedAccount"):
        world.as_account(2).transact("setCapacity", INSTALLATION, 10_000)
    result = world.ledger.transact("setCapacity", INSTALLATION, 10_000)
    (event,) = world.ledger.events("CapacityChanged", result)
    assert event["args"]["capacityW"] == 10_000
    world.anchor_batch(big_step)
    assert world.ledger.balance_of(world.beneficiary, INSTALLATION) == 30
