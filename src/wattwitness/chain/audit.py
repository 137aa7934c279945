"""Checks an export of signed records against the ledger: is every anchored head in it, with its root?

For `wattwitness verify --chain RPC --ledger ADDR`: anyone holding an export and a JSON-RPC URL can see
that the batches the ledger minted for are exactly the records they hold (same head hash, same count,
same RFC 6962 root), with no database and no trust in the server. Needs no key: it only reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from eth_account import Account
from web3 import Web3

from wattwitness.chain.errors import ChainError
from wattwitness.chain.ledger import Connection, Ledger
from wattwitness.protocol import ProtocolError, Reading, merkle_root, record_hash


@dataclass(frozen=True)
class AnchorCheck:
    anchor_index: int
    boot: int
    seq: int
    status: str  # "ok", "root_mismatch", "not_in_export"
    detail: str


@dataclass
class ChainAudit:
    installation_id: int
    checks: list[AnchorCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(c.status == "root_mismatch" for c in self.checks)

    def summary(self) -> str:
        counts = {s: sum(c.status == s for c in self.checks) for s in ("ok", "root_mismatch", "not_in_export")}
        return (f"installation {self.installation_id}: {len(self.checks)} anchors on-chain: {counts['ok']} match, "
                f"{counts['root_mismatch']} do not match, {counts['not_in_export']} outside this export")


def read_only_ledger(rpc_url: str, ledger_address: str) -> Ledger:
    """A ledger to read through any JSON-RPC node; the throwaway account never signs anything."""
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 30}))
    if not w3.is_connected():
        raise ChainError(f"no JSON-RPC node answers at {rpc_url}")
    return Ledger(Connection(w3, Account.create()), ledger_address)


def installations_for_key(ledger: Ledger, public_key: bytes) -> list[int]:
    """Installation ids whose current key is `public_key` (from registration and rotation events)."""
    ids = set()
    for name in ("InstallationRegistered", "KeyRotated"):
        for log in getattr(ledger.contract.events, name)().get_logs(from_block=0):
            args = log["args"]
            x = args.get("keyX", args.get("newKeyX"))
            if bytes(x) == public_key[:32]:
                ids.add(int(args["installationId"]))
    return sorted(i for i in ids if ledger.installation(i).public_key == public_key)


def audit_export(ledger: Ledger, installation_id: int, records: Iterable[bytes]) -> ChainAudit:
    """Compares each on-chain anchor of the installation with the export's records (in any order)."""
    ordered: list[tuple[tuple[int, int], bytes]] = []
    for record in records:
        try:
            ordered.append((Reading.decode(record).order, record))
        except ProtocolError:
            continue  # the signature check already reports malformed lines
    ordered.sort(key=lambda item: item[0])
    chain = [record for _, record in ordered]
    position = {record_hash(record): i for i, record in enumerate(chain)}

    audit = ChainAudit(installation_id)
    for index in range(ledger.anchor_count(installation_id)):
        anchor = ledger.anchor_at(installation_id, index)
        p = position.get(anchor.head_hash)
        if p is None:
            audit.checks.append(AnchorCheck(index, anchor.boot, anchor.seq, "not_in_export",
                                            "the anchored head is not among the exported records"))
            continue
        first = p - anchor.count + 1
        if first < 0:
            audit.checks.append(AnchorCheck(index, anchor.boot, anchor.seq, "not_in_export",
                                            f"the batch of {anchor.count} starts before the export"))
            continue
        root = merkle_root(chain[first:p + 1])
        if root == anchor.merkle_root:
            audit.checks.append(AnchorCheck(index, anchor.boot, anchor.seq, "ok",
                                            f"{anchor.count} records, root {root.hex()[:16]}…"))
        else:
            audit.checks.append(AnchorCheck(
                index, anchor.boot, anchor.seq, "root_mismatch",
                f"the {anchor.count} exported records up to the head hash to {root.hex()[:16]}…, "
                f"the ledger holds {anchor.merkle_root.hex()[:16]}…"))
    return audit


def report_export(rpc_url: str, ledger_address: str | None, public_key: bytes, records: list[bytes],
                  echo: Callable[[str], None]) -> bool:
    """`wattwitness verify --chain RPC --ledger ADDR`: prints one line per anchor that is not a match and a
    summary per installation of this key; True when no anchored batch contradicts the export.
    Raises ChainError when the node or the ledger cannot be reached."""
    if not ledger_address:
        raise ChainError("--chain needs --ledger 0x... (the WattWitnessLedger address)")
    ledger = read_only_ledger(rpc_url, ledger_address)
    installation_ids = installations_for_key(ledger, public_key)
    if not installation_ids:
        echo(f"chain: no installation on {ledger.address} has this key; nothing anchored to compare")
        return True
    ok = True
    for installation_id in installation_ids:
        audit = audit_export(ledger, installation_id, records)
        for check in audit.checks:
            if check.status == "root_mismatch":
                echo(f"chain: anchor #{check.anchor_index} (head {check.boot}/{check.seq}): {check.detail}")
        echo(f"chain: {audit.summary()}")
        ok = ok and audit.ok
    return ok
