"""Client for the WattWitnessLedger contract: deploy, register, anchor, read, with explicit gas.

Every transaction is signed locally by one account (a key file on a real chain, a development account
on the embedded one), sent raw, and followed to its receipt plus a confirmation depth. Reverts come back
as `LedgerReverted` with the contract's error name, never as a bare web3 exception.
"""

from __future__ import annotations

import ast
import time
from dataclasses import dataclass
from typing import Any, cast

import requests
from eth_account.signers.local import LocalAccount
from eth_tester.exceptions import TransactionFailed
from eth_utils import keccak, to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractCustomError, ContractLogicError, TimeExhausted, Web3Exception, Web3RPCError
from web3.logs import DISCARD
from web3.types import TxParams

from wattwitness.chain import compiled
from wattwitness.chain.embedded import EmbeddedChain
from wattwitness.chain.errors import ChainError, decode_revert

ZERO_ADDRESS = "0x" + "00" * 20
REGISTRAR_ROLE = keccak(text="REGISTRAR_ROLE")
SUBMITTER_ROLE = keccak(text="SUBMITTER_ROLE")
DEFAULT_ADMIN_ROLE = bytes(32)

# Explicit gas limits: estimation is slow on the embedded EVM and, on a real chain, an estimate taken
# against a state that changes before inclusion can be too low. Measured values are in bench/README.md.
GAS_DEPLOY = 5_000_000
GAS_REGISTER = 250_000
GAS_ANCHOR = 400_000
GAS_ADMIN = 120_000


@dataclass
class Connection:
    """A chain to talk to and the account that signs."""

    w3: Web3
    account: LocalAccount
    confirmations: int = 0
    embedded: EmbeddedChain | None = None
    receipt_timeout_s: float = 120.0
    poll_interval_s: float = 1.0

    @property
    def chain_id(self) -> int:
        return int(self.w3.eth.chain_id)

    @classmethod
    def to_embedded(cls, chain: EmbeddedChain, account_index: int = 0, confirmations: int = 0) -> Connection:
        return cls(chain.w3, chain.accounts[account_index], confirmations, chain, poll_interval_s=0.0)

    def with_account(self, account: LocalAccount) -> Connection:
        return Connection(
            self.w3, account, self.confirmations, self.embedded, self.receipt_timeout_s, self.poll_interval_s
        )


@dataclass(frozen=True)
class TxResult:
    tx_hash: bytes
    block_number: int
    block_hash: bytes
    gas_used: int
    logs: list[Any]


def _revert_error(err: Exception) -> ChainError:
    data: Any = getattr(err, "data", None)
    if isinstance(data, dict):
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x"):
        decoded = decode_revert(bytes.fromhex(data[2:]))
        if decoded is not None:
            return decoded
    return ChainError(f"transaction reverted: {err}")


# What a node that is down, slow or confused raises; turned into ChainError at this boundary.
NODE_ERRORS = (Web3Exception, requests.exceptions.RequestException, TimeoutError, ConnectionError)


def send(conn: Connection, call: ContractFunction, gas: int) -> TxResult:
    """Signs, sends and follows one contract call; raises LedgerReverted/ChainError when it fails."""
    try:
        tx = dict(call.build_transaction(cast(TxParams, _tx_fields(conn, gas))))
        # A dry run first: a revert then comes back with its reason instead of as a bare failed receipt.
        _dry_run(conn, tx)
        return _send_tx(conn, tx)
    except ChainError:
        raise
    except NODE_ERRORS as err:
        raise ChainError(f"the chain node failed: {err.__class__.__name__}: {err}") from err


def _tester_revert_bytes(err: TransactionFailed) -> bytes:
    # py-evm's backend stringifies the Revert exception, whose one argument is the revert data.
    text = err.args[0] if err.args else b""
    if isinstance(text, bytes):
        return text
    if isinstance(text, str):
        text = text.removeprefix("execution reverted: ")
    try:
        value = ast.literal_eval(text) if isinstance(text, str) and text[:2] in ("b'", 'b"') else b""
    except (ValueError, SyntaxError):
        return b""
    return value if isinstance(value, bytes) else b""


def _dry_run(conn: Connection, tx: dict[str, Any]) -> None:
    request = {"from": tx["from"], "to": tx["to"], "data": tx["data"], "gas": tx["gas"]}
    if conn.embedded is not None:
        # eth-tester hands the raw revert bytes to its own exception; web3's wrapper would stringify them.
        try:
            conn.embedded.tester.call(request)
        except TransactionFailed as err:
            raw = _tester_revert_bytes(err)
            raise decode_revert(raw) or ChainError(f"transaction reverted: {err}") from err
        return
    try:
        conn.w3.eth.call(request)  # type: ignore[arg-type]
    except (ContractCustomError, ContractLogicError) as err:
        raise _revert_error(err) from err


def _tx_fields(conn: Connection, gas: int) -> dict[str, Any]:
    w3 = conn.w3
    base_fee = int(w3.eth.get_block("latest").get("baseFeePerGas") or 0)
    priority = 1_000_000_000 if conn.embedded is None else 0
    return {
        "from": conn.account.address,
        "nonce": w3.eth.get_transaction_count(conn.account.address, "pending"),
        "gas": gas,
        "maxFeePerGas": 2 * base_fee + priority,
        "maxPriorityFeePerGas": priority,
        "chainId": conn.chain_id,
    }


def _send_tx(conn: Connection, tx: dict[str, Any]) -> TxResult:
    w3 = conn.w3
    signed = conn.account.sign_transaction(tx)
    try:
        tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    except (ContractCustomError, ContractLogicError) as err:
        raise _revert_error(err) from err
    except Web3RPCError as err:
        raise ChainError(f"the node refused the transaction: {err}") from err
    try:
        receipt = w3.eth.wait_for_transaction_receipt(
            tx_hash, timeout=conn.receipt_timeout_s, poll_latency=max(conn.poll_interval_s, 0.1)
        )
    except TimeExhausted as err:
        raise ChainError(f"no receipt for {tx_hash.hex()} within {conn.receipt_timeout_s:.0f} s") from err
    if receipt["status"] != 1:
        raise ChainError(f"transaction {tx_hash.hex()} failed in block {receipt['blockNumber']}")
    wait_for_confirmations(conn, receipt["blockNumber"], receipt["blockHash"])
    return TxResult(bytes(tx_hash), receipt["blockNumber"], bytes(receipt["blockHash"]), receipt["gasUsed"],
                    list(receipt["logs"]))


def wait_for_confirmations(conn: Connection, block_number: int, block_hash: bytes) -> None:
    """Waits until `confirmations` blocks sit on top of the receipt's block, and that block is still ours."""
    deadline = time.monotonic() + conn.receipt_timeout_s
    while conn.w3.eth.block_number < block_number + conn.confirmations:
        if conn.embedded is not None:
            conn.embedded.mine(1)
            continue
        if time.monotonic() > deadline:
            raise ChainError(f"block {block_number} did not reach {conn.confirmations} confirmations in time")
        time.sleep(conn.poll_interval_s)
    canonical = conn.w3.eth.get_block(block_number)["hash"]
    if bytes(canonical) != bytes(block_hash):
        raise ChainError(f"block {block_number} was reorganised away before it was confirmed")


@dataclass(frozen=True)
class InstallationState:
    registered: bool
    public_key: bytes
    meter: bytes
    capacity_w: int
    beneficiary: str
    has_baseline: bool
    last_boot: int
    last_seq: int
    last_ts: int
    last_energy_mwh: int
    carry_mwh: int
    last_head_hash: bytes


@dataclass(frozen=True)
class AnchorState:
    head_hash: bytes
    merkle_root: bytes
    count: int
    boot: int
    seq: int
    ts: int
    energy_mwh: int
    credited_mwh: int


class Ledger:
    """One deployed WattWitnessLedger."""

    def __init__(self, conn: Connection, address: str) -> None:
        self.conn = conn
        self.address = to_checksum_address(address)
        self.contract = conn.w3.eth.contract(address=self.address, abi=compiled.ledger()["abi"])

    @classmethod
    def deploy(
        cls,
        conn: Connection,
        *,
        uri: str = "",
        forwarder: str = ZERO_ADDRESS,
        predecessor: str = ZERO_ADDRESS,
        max_future_skew_s: int = 300,
        capacity_margin_bps: int = 12_000,
    ) -> Ledger:
        art = compiled.ledger()
        factory = conn.w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
        tx = factory.constructor(
            conn.account.address, uri, to_checksum_address(forwarder), to_checksum_address(predecessor),
            max_future_skew_s, capacity_margin_bps,
        ).build_transaction(cast(TxParams, _tx_fields(conn, GAS_DEPLOY)))
        result = _send_tx(conn, tx)
        receipt = conn.w3.eth.get_transaction_receipt(HexBytes(result.tx_hash))
        if not receipt["contractAddress"]:
            raise ChainError("deployment produced no contract")
        return cls(conn, receipt["contractAddress"])

    def using(self, conn: Connection) -> Ledger:
        """The same ledger, sending from another account."""
        return Ledger(conn, self.address)

    # ---- transactions

    def grant_role(self, role: bytes, account: str) -> TxResult:
        return send(self.conn, self.contract.functions.grantRole(role, to_checksum_address(account)), GAS_ADMIN)

    def register_installation(
        self, installation_id: int, public_key: bytes, meter: bytes, capacity_w: int, beneficiary: str
    ) -> TxResult:
        call = self.contract.functions.registerInstallation(
            installation_id, public_key, meter, capacity_w, to_checksum_address(beneficiary)
        )
        return send(self.conn, call, GAS_REGISTER)

    def anchor(
        self, installation_id: int, head_record: bytes, signature: bytes, merkle_root: bytes, count: int
    ) -> TxResult:
        call = self.contract.functions.anchor(installation_id, head_record, signature, merkle_root, count)
        return send(self.conn, call, GAS_ANCHOR)

    def on_report(self, metadata: bytes, report: bytes) -> TxResult:
        return send(self.conn, self.contract.functions.onReport(metadata, report), GAS_ANCHOR)

    def transact(self, function: str, *args: Any, gas: int = GAS_ADMIN) -> TxResult:
        """Any other ledger function (administration): same sending path, explicit gas."""
        return send(self.conn, getattr(self.contract.functions, function)(*args), gas)

    # ---- views

    def call(self, function: str, *args: Any) -> Any:
        try:
            return getattr(self.contract.functions, function)(*args).call()
        except (ContractCustomError, ContractLogicError) as err:
            raise _revert_error(err) from err
        except TransactionFailed as err:  # the embedded chain's form of a revert
            raise decode_revert(_tester_revert_bytes(err)) or ChainError(f"call reverted: {err}") from err
        except NODE_ERRORS as err:
            raise ChainError(f"the chain node failed: {err.__class__.__name__}: {err}") from err

    def installation(self, installation_id: int) -> InstallationState:
        raw = self.call("installation", installation_id)
        return InstallationState(
            registered=raw[4], public_key=bytes(raw[0]) + bytes(raw[1]), meter=bytes(raw[3]), capacity_w=raw[6],
            beneficiary=raw[2], has_baseline=raw[5], last_boot=raw[7], last_seq=raw[8], last_ts=raw[9],
            last_energy_mwh=raw[10], carry_mwh=raw[11], last_head_hash=bytes(raw[12]),
        )

    def anchor_count(self, installation_id: int) -> int:
        return int(self.call("anchorCount", installation_id))

    def anchor_at(self, installation_id: int, index: int) -> AnchorState:
        raw = self.call("anchorAt", installation_id, index)
        return AnchorState(bytes(raw[0]), bytes(raw[1]), *raw[2:])

    def balance_of(self, account: str, installation_id: int) -> int:
        return int(self.call("balanceOf", to_checksum_address(account), installation_id))

    def verify_inclusion(
        self, installation_id: int, anchor_index: int, record: bytes, leaf_index: int, tree_size: int,
        path: list[bytes],
    ) -> bool:
        return bool(self.call("verifyInclusion", installation_id, anchor_index, record, leaf_index, tree_size, path))

    def events(self, name: str, result: TxResult) -> list[Any]:
        """The ledger's `name` events in a transaction (other contracts' logs are skipped)."""
        receipt = self.conn.w3.eth.get_transaction_receipt(HexBytes(result.tx_hash))
        return list(getattr(self.contract.events, name)().process_receipt(receipt, errors=DISCARD))

    def batch_anchored_logs(self, from_block: int, to_block: int) -> list[Any]:
        return list(self.contract.events.BatchAnchored().get_logs(from_block=from_block, to_block=to_block))
