"""The real-chain path: the CLI against a JSON-RPC node (anvil from npm, Osaka rules with EIP-7951's
P256VERIFY at 0x100, a block a second), with a key file, confirmations and a database.

Everything the embedded chain hides is exercised here: raw signed transactions over HTTP, fee fields,
receipts polled from a node, confirmations that come from real block production, revert data from
`eth_call`, `eth_getLogs` for the listener, and the read-only audit. And on Prague rules (no P-256
precompile) the ledger refuses with `VerifierAbsent`, as it would on an L1 before Fusaka.
"""

from __future__ import annotations

import random
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.chain.conftest import CAPACITY_W, Device
from tests.chain.db_helpers import add_installation, store
from wattwitness.chain.audit import audit_export, read_only_ledger, report_export
from wattwitness.chain.config import ChainSettings, connect, write_key_file
from wattwitness.chain.errors import LedgerReverted
from wattwitness.chain.ledger import REGISTRAR_ROLE, SUBMITTER_ROLE, Ledger
from wattwitness.cli import app
from wattwitness.protocol import merkle_root
from wattwitness.server.db.models import Anchor, Reading
from wattwitness.server.db.session import Database

ANVIL = Path(__file__).resolve().parents[2] / "contracts" / "node_modules" / ".bin" / "anvil"
# anvil's first development account: a public, well-known key.
DEV_KEY = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
runner = CliRunner()


def _free_port() -> int:
    # Random order: other test runs on this machine start anvils in the same range at the same time.
    for port in random.sample(range(18520, 18600), 80):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 18520-18599")


def _start_anvil(hardfork: str) -> tuple[subprocess.Popen[bytes], str]:
    assert ANVIL.exists(), "anvil comes from contracts/package.json: run `make contracts` (npm ci) first"
    for _ in range(5):
        port = _free_port()
        process = subprocess.Popen([str(ANVIL), "--port", str(port), "--hardfork", hardfork, "--block-time", "1",
                                    "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            try:
                httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=1)
            except httpx.HTTPError:
                time.sleep(0.2)
                continue
            time.sleep(0.3)
            if process.poll() is None:  # the node that answered is ours (a lost bind race makes anvil exit)
                return process, url
        process.kill()
        process.wait(timeout=10)
    raise RuntimeError("anvil did not start")


@pytest.fixture
def anvil() -> Iterator[str]:
    process, url = _start_anvil("osaka")
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "relayer.key"
    write_key_file(path, DEV_KEY)
    return path


def test_cli_deploy_register_anchor_listen_and_audit_over_json_rpc(anvil: str, key_file: Path, database_url: str,
                                                                   device: Device, monkeypatch, tmp_path: Path):
    monkeypatch.setenv("WATTWITNESS_CHAIN_POLL_INTERVAL_S", "0.2")
    monkeypatch.setenv("WATTWITNESS_CHAIN_CONFIRMATIONS", "1")
    common = ["--rpc", anvil, "--key-file", str(key_file)]
    result = runner.invoke(app, ["chain", "deploy", *common])
    assert result.exit_code == 0, result.output
    address = re.search(r"deployed at (0x[0-9a-fA-F]{40})", result.output).group(1)  # type: ignore[union-attr]

    database = Database(database_url)
    try:
        installation_id = add_installation(database, device.public_key, device.meter, CAPACITY_W)
        items = device.readings(40)
        store(database, installation_id, items)
        with_ledger = [*common, "--ledger", address, "--database-url", database_url]
        result = runner.invoke(app, ["chain", "register", "--installation", str(installation_id), *with_ledger])
        assert result.exit_code == 0 and "registered" in result.output, result.output
        for expected in ("anchor #0 of 1 readings", "anchor #1 of 39 readings"):
            result = runner.invoke(app, ["chain", "anchor", *with_ledger])
            assert result.exit_code == 0 and expected in result.output, result.output
        result = runner.invoke(app, ["chain", "listen", "--once", *with_ledger])
        assert result.exit_code == 0, result.output
        with database.scope() as session:
            anchors = session.query(Anchor).order_by(Anchor.anchor_index).all()
            assert [(a.count, a.chain_id) for a in anchors] == [(1, 31337), (39, 31337)]
            assert session.query(Reading).filter(Reading.anchor_id.is_(None)).count() == 0
    finally:
        database.dispose()

    ledger = read_only_ledger(anvil, address)  # anyone, no key
    delta = (int.from_bytes(items[-1][0][34:42], "big") - int.from_bytes(items[0][0][34:42], "big"))
    owner = ledger.conn.w3.eth.account.from_key(DEV_KEY).address
    assert ledger.balance_of(owner, installation_id) == delta // 1000
    audit = audit_export(ledger, installation_id, [r for r, _ in items])
    assert audit.ok and [c.status for c in audit.checks] == ["ok", "ok"]

    # What `wattwitness verify --chain URL --ledger ADDR` prints, for the whole export and for a doctored one.
    lines: list[str] = []
    assert report_export(anvil, address, device.public_key, [r for r, _ in items], lines.append)
    assert lines == [f"chain: installation {installation_id}: 2 anchors on-chain: 2 match, 0 do not match, "
                     "0 outside this export"]
    doctored = [r for r, _ in items]
    doctored[20] = doctored[20][:30] + bytes([doctored[20][30] ^ 1]) + doctored[20][31:]
    lines.clear()
    assert not report_export(anvil, address, device.public_key, doctored, lines.append)
    assert lines[0].startswith("chain: anchor #1 (head 1/40): the 39 exported records up to the head hash to")

    # The same through the command an auditor runs. The doctored record also fails its signature, so the
    # exit is non-zero for two reasons; the chain line is what --chain adds.
    export = tmp_path / "export.jsonl"
    verify_args = ["verify", "--public-key", device.public_key.hex(), "--chain", anvil, "--ledger", address,
                   str(export)]
    export.write_text("".join(f'{{"record": "{r.hex()}", "signature": "{s.hex()}"}}\n' for r, s in items))
    result = runner.invoke(app, verify_args)
    assert result.exit_code == 0, result.output
    assert "40 records: 40 verified" in result.output and "2 match, 0 do not match" in result.output
    export.write_text("".join(f'{{"record": "{r.hex()}", "signature": "{s.hex()}"}}\n'
                              for r, (_, s) in zip(doctored, items, strict=True)))
    result = runner.invoke(app, verify_args)
    assert result.exit_code == 1
    assert "1 match, 1 do not match" in result.output


def test_revert_reasons_come_back_by_name_over_json_rpc(anvil: str, key_file: Path, device: Device):
    conn = connect(ChainSettings(rpc_url=anvil, key_file=key_file, confirmations=0, poll_interval_s=0.2))
    ledger = Ledger.deploy(conn)
    ledger.grant_role(REGISTRAR_ROLE, conn.account.address)
    ledger.grant_role(SUBMITTER_ROLE, conn.account.address)
    ledger.register_installation(1, device.public_key, device.meter, CAPACITY_W, conn.account.address)
    record, signature = device.readings(1)[0]
    ledger.anchor(1, record, signature, merkle_root([record]), 1)
    with pytest.raises(LedgerReverted, match=r"^WattWitnessLedgerStaleHead\(1, 1, 1, 1\)"):
        ledger.anchor(1, record, signature, merkle_root([record]), 1)


def test_a_chain_without_p256verify_refuses_with_verifier_absent(key_file: Path, device: Device):
    process, url = _start_anvil("prague")
    try:
        conn = connect(ChainSettings(rpc_url=url, key_file=key_file, confirmations=0, poll_interval_s=0.2))
        ledger = Ledger.deploy(conn)
        ledger.grant_role(REGISTRAR_ROLE, conn.account.address)
        ledger.grant_role(SUBMITTER_ROLE, conn.account.address)
        ledger.register_installation(1, device.public_key, device.meter, CAPACITY_W, conn.account.address)
        record, signature = device.readings(1)[0]
        with pytest.raises(LedgerReverted, match="WattWitnessLedgerVerifierAbsent"):
            ledger.anchor(1, record, signature, merkle_root([record]), 1)
    finally:
        process.terminate()
        process.wait(timeout=10)
