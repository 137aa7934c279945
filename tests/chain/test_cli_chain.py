"""`wattwitness chain ...` through the real command line (Typer runner), with clear errors."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tests.chain.conftest import CAPACITY_W, Device
from tests.chain.db_helpers import add_installation, store
from wattwitness.chain.config import write_key_file
from wattwitness.cli import app
from wattwitness.server.db.session import Database

runner = CliRunner()


def test_run_on_the_embedded_chain_anchors_mints_and_verifies_a_proof(database_url: str, device: Device):
    database = Database(database_url)
    try:
        installation_id = add_installation(database, device.public_key, device.meter, CAPACITY_W)
        store(database, installation_id, device.readings(30))
    finally:
        database.dispose()
    result = runner.invoke(app, ["chain", "run", "--passes", "2", "--interval", "0.1",
                                 "--database-url", database_url])
    assert result.exit_code == 0, result.output
    assert f"installation {installation_id} registered" in result.output
    assert "anchor #0 of 1 readings, 0 Wh minted" in result.output
    assert "anchor #1 of 29 readings" in result.output
    assert "verified by the ledger on-chain" in result.output


def test_one_shot_commands_refuse_the_embedded_chain_with_a_reason():
    result = runner.invoke(app, ["chain", "deploy", "--rpc", "embedded"])
    assert result.exit_code == 1
    assert "wattwitness chain run" in result.output


def test_missing_ledger_address_and_unreachable_node_are_clear_errors(tmp_path: Path, dead_rpc_url: str):
    key = tmp_path / "relayer.key"
    write_key_file(key, "11" * 32)
    env = {"WATTWITNESS_CHAIN_LEDGER_ADDRESS": ""}
    result = runner.invoke(app, ["chain", "anchor", "--rpc", dead_rpc_url, "--key-file", str(key)],
                           env=env)
    assert result.exit_code == 1 and "no ledger address" in result.output
    result = runner.invoke(app, ["chain", "listen", "--rpc", dead_rpc_url, "--key-file", str(key),
                                 "--ledger", "0x" + "22" * 20])
    assert result.exit_code == 1 and f"no JSON-RPC node answers at {dead_rpc_url}" in result.output


def test_key_file_must_be_private(tmp_path: Path):
    key = tmp_path / "relayer.key"
    key.write_text("11" * 32)
    key.chmod(0o644)
    result = runner.invoke(app, ["chain", "deploy", "--rpc", "http://127.0.0.1:1", "--key-file", str(key)])
    assert result.exit_code == 1 and "readable by others; chmod 600" in result.output
    key.chmod(0o600)
    key.write_text("not a key")
    result = runner.invoke(app, ["chain", "deploy", "--rpc", "http://127.0.0.1:1", "--key-file", str(key)])
    assert result.exit_code == 1 and "64 hex characters" in result.output


def test_gas_command_prints_a_table():
    result = runner.invoke(app, ["chain", "gas", "1", "5"])
    assert result.exit_code == 0, result.output
    assert "| 1 |" in result.output and "| 5 |" in result.output
