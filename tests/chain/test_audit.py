"""An export checked against the ledger (the `wattwitness verify --chain` check)."""

from __future__ import annotations

import pytest

from tests.chain.conftest import INSTALLATION, Device, LedgerWorld
from wattwitness.chain.audit import audit_export, installations_for_key, read_only_ledger
from wattwitness.chain.errors import ChainError
from wattwitness.protocol import Reading


def test_every_anchor_matches_the_export(world: LedgerWorld, device: Device):
    items = device.readings(30)
    world.anchor_batch(items[:1])
    world.anchor_batch(items[1:12])
    world.anchor_batch(items[12:])
    records = [r for r, _ in items]
    audit = audit_export(world.ledger, INSTALLATION, reversed(records))  # order does not matter
    assert [c.status for c in audit.checks] == ["ok", "ok", "ok"] and audit.ok
    assert "3 anchors on-chain: 3 match, 0 do not match, 0 outside this export" in audit.summary()


def test_a_missing_or_substituted_record_is_found(world: LedgerWorld, device: Device):
    items = device.readings(10)
    world.anchor_batch(items[:1])
    world.anchor_batch(items[1:])
    records = [r for r, _ in items]
    altered = Reading.decode(records[4])
    swapped = Reading(altered.meter, altered.boot, altered.seq, altered.ts, altered.power_mw + 1,
                      altered.energy_mwh, altered.prev).encode()
    audit = audit_export(world.ledger, INSTALLATION, [*records[:4], swapped, *records[5:]])
    assert [c.status for c in audit.checks] == ["ok", "root_mismatch"] and not audit.ok
    audit = audit_export(world.ledger, INSTALLATION, records[5:])
    assert [c.status for c in audit.checks] == ["not_in_export", "not_in_export"]


def test_installation_is_found_by_key(world: LedgerWorld, device: Device):
    assert installations_for_key(world.ledger, device.public_key) == [INSTALLATION]
    assert installations_for_key(world.ledger, bytes(64)) == []


def test_unreachable_node_is_a_clear_error(dead_rpc_url: str):
    with pytest.raises(ChainError, match="no JSON-RPC node answers"):
        read_only_ledger(dead_rpc_url, "0x" + "22" * 20)


def test_verify_hook_refuses_without_a_ledger_address(device: Device):
    from wattwitness.chain.audit import report_export

    with pytest.raises(ChainError, match="--chain needs --ledger"):
        report_export("http://127.0.0.1:1", None, device.public_key, [], print)


def test_a_node_that_goes_away_is_a_chain_error_not_a_traceback(dead_rpc_url: str, device: Device):
    from eth_account import Account
    from web3 import Web3

    from wattwitness.chain.ledger import Connection, Ledger

    ledger = Ledger(Connection(Web3(Web3.HTTPProvider(dead_rpc_url)), Account.create()), "0x" + "22" * 20)
    with pytest.raises(ChainError, match="the chain node failed"):
        ledger.installation(1)
    with pytest.raises(ChainError, match="the chain node failed"):
        ledger.register_installation(1, device.public_key, device.meter, 1000, "0x" + "33" * 20)
