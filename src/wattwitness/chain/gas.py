"""Gas of `anchor` by batch size, measured on the embedded EVM (bench/README.md, "Gas").

The ledger only sees the head record, its signature and the Merkle root, so the cost must not depend on
how many readings a batch covers. Each size gets a fresh ledger: a baseline anchor, then one anchor of
`size` readings (the measured one; it credits energy and mints, the common case).
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec

from wattwitness.chain.embedded import EmbeddedChain
from wattwitness.chain.ledger import REGISTRAR_ROLE, SUBMITTER_ROLE, Connection, Ledger
from wattwitness.protocol import ZERO_HASH, Reading, merkle_root, record_hash, sign
from wattwitness.protocol.keys import public_key_bytes

METER = bytes.fromhex("ec64c9c05e97")
START_TS = 1_750_000_000


@dataclass(frozen=True)
class GasRow:
    batch_size: int
    gas_used: int
    minted_wh: int


def _history(key: ec.EllipticCurvePrivateKey, n: int) -> list[bytes]:
    """n hash-chained readings 10 s apart at 1.5 kW; only the last one needs a signature."""
    records, prev, energy = [], ZERO_HASH, 1_000_000
    for seq in range(1, n + 1):
        energy += 4_166
        record = Reading(METER, 1, seq, START_TS + 10 * seq, 1_500_000, energy, prev).encode()
        records.append(record)
        prev = record_hash(record)
    return records


def measure(batch_sizes: list[int], with_p256: bool = True) -> list[GasRow]:
    key = ec.generate_private_key(ec.SECP256R1())
    rows = []
    for size in batch_sizes:
        chain = EmbeddedChain(with_p256=with_p256)
        conn = Connection.to_embedded(chain)
        ledger = Ledger.deploy(conn)
        ledger.grant_role(REGISTRAR_ROLE, conn.account.address)
        ledger.grant_role(SUBMITTER_ROLE, conn.account.address)
        ledger.register_installation(1, public_key_bytes(key), METER, 10_000, chain.accounts[1].address)
        records = _history(key, size + 1)
        ledger.anchor(1, records[0], sign(key, records[0]), merkle_root(records[:1]), 1)
        batch = records[1:]
        result = ledger.anchor(1, batch[-1], sign(key, batch[-1]), merkle_root(batch), len(batch))
        (event,) = ledger.events("BatchAnchored", result)
        rows.append(GasRow(size, result.gas_used, int(event["args"]["mintedWh"])))
    return rows


def markdown_table(rows: list[GasRow]) -> str:
    lines = ["| readings in the batch | gas used by `anchor` | Wh minted |", "|---:|---:|---:|"]
    lines += [f"| {r.batch_size:,} | {r.gas_used:,} | {r.minted_wh:,} |" for r in rows]
    return "\n".join(lines)
