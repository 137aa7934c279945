"""The embedded chain: an in-process EVM (eth-tester + py-evm) with P256VERIFY at 0x100.

Used by `make demo` and the tests. It is a real EVM executing the real ledger bytecode; only the chain
around it (one node, no peers, blocks mined on demand) is simplified. `with_p256=False` gives a chain
without the precompile, like an L1 before EIP-7951, to show the ledger refusing to anchor there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.backends.pyevm.main import get_default_genesis_params
from web3 import Web3
from web3.providers.eth_tester import EthereumTesterProvider

from wattwitness.chain.p256_precompile import PragueP256VM


@dataclass
class EmbeddedChain:
    """One in-process chain and its ten funded, well-known development accounts."""

    with_p256: bool = True
    w3: Web3 = field(init=False)
    tester: EthereumTester = field(init=False)
    accounts: list[LocalAccount] = field(init=False)

    def __post_init__(self) -> None:
        from eth.vm.forks import PragueVM

        vm = PragueP256VM if self.with_p256 else PragueVM
        # A generous block gas limit so several anchors (~150k gas each) fit in one block if needed.
        params = get_default_genesis_params({"gas_limit": 60_000_000})
        backend = PyEVMBackend(genesis_parameters=params, vm_configuration=((0, vm),))
        self.tester = EthereumTester(backend)
        self.w3 = Web3(EthereumTesterProvider(self.tester))
        self.accounts = [Account.from_key(key.to_bytes()) for key in backend.account_keys]

    def mine(self, blocks: int = 1) -> None:
        """Mines empty blocks: how confirmations accrue on a chain that has no other traffic."""
        self.tester.mine_blocks(blocks)

    def set_next_timestamp(self, timestamp: int) -> None:
        self.tester.time_travel(timestamp)

    def snapshot(self) -> int:
        return int(self.tester.take_snapshot())

    def revert_to(self, snapshot_id: int) -> None:
        """Drops every block after the snapshot: what a reorg looks like to a follower."""
        self.tester.revert_to_snapshot(snapshot_id)
