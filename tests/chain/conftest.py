"""Fixtures for the ledger tests: a fresh embedded chain, a deployed ledger, a signing device."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests import vectors
from wattwitness.chain.embedded import EmbeddedChain
from wattwitness.chain.ledger import REGISTRAR_ROLE, SUBMITTER_ROLE, Connection, Ledger
from wattwitness.protocol import ZERO_HASH, Reading, merkle_root, record_hash, sign
from wattwitness.protocol.keys import private_key_from_scalar, public_key_bytes

INSTALLATION = 7
CAPACITY_W = 5_000
# Vector records are from June 2025; blocks on the embedded chain carry today's time, so heads are "past".
START_TS = 1_750_346_380


@dataclass
class Device:
    """A signing device with the vector key: makes a hash-chained, signed WW2 history."""

    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: private_key_from_scalar(vectors.private_scalar())
    )
    meter: bytes = field(default_factory=vectors.meter)
    boot: int = 1
    seq: int = 0
    ts: int = START_TS
    energy_mwh: int = 10_000
    prev: bytes = ZERO_HASH

    @property
    def public_key(self) -> bytes:
        return public_key_bytes(self.private_key)

    def reading(self, power_w: int = 1_500, interval_s: int = 10, energy_step_mwh: int | None = None) -> bytes:
        """The next record: `power_w` for `interval_s` seconds (counter grows by W * s / 3.6 mWh)."""
        self.seq += 1
        self.ts += interval_s
        step = energy_step_mwh if energy_step_mwh is not None else power_w * interval_s * 1000 // 3600
        self.energy_mwh += step
        record = Reading(self.meter, self.boot, self.seq, self.ts, power_w * 1000, self.energy_mwh, self.prev).encode()
        self.prev = record_hash(record)
        return record

    def sign(self, record: bytes) -> bytes:
        return sign(self.private_key, record)

    def readings(self, n: int, **kwargs: int) -> list[tuple[bytes, bytes]]:
        return [(r, self.sign(r)) for r in (self.reading(**kwargs) for _ in range(n))]


@dataclass
class LedgerWorld:
    chain: EmbeddedChain
    ledger: Ledger
    admin: Connection
    beneficiary: str
    forwarder: Connection

    def as_account(self, index: int) -> Ledger:
        return self.ledger.using(self.admin.with_account(self.chain.accounts[index]))

    def anchor_batch(self, batch: list[tuple[bytes, bytes]], installation_id: int = INSTALLATION):
        records = [r for r, _ in batch]
        head, signature = batch[-1]
        return self.ledger.anchor(installation_id, head, signature, merkle_root(records), len(records))


def make_world(chain: EmbeddedChain, device: Device, **deploy_kwargs) -> LedgerWorld:
    admin = Connection.to_embedded(chain, 0)
    forwarder = Connection.to_embedded(chain, 3)
    ledger = Ledger.deploy(admin, forwarder=forwarder.account.address, **deploy_kwargs)
    ledger.grant_role(REGISTRAR_ROLE, admin.account.address)
    ledger.grant_role(SUBMITTER_ROLE, admin.account.address)
    beneficiary = chain.accounts[1].address
    ledger.register_installation(INSTALLATION, device.public_key, device.meter, CAPACITY_W, beneficiary)
    return LedgerWorld(chain, ledger, admin, beneficiary, forwarder)


@pytest.fixture
def device() -> Device:
    return Device()


@pytest.fixture
def chain() -> EmbeddedChain:
    return EmbeddedChain()


@pytest.fixture
def world(chain: EmbeddedChain, device: Device) -> LedgerWorld:
    return make_world(chain, device)


@pytest.fixture
def world_factory() -> Callable[..., LedgerWorld]:
    return make_world


@pytest.fixture
def dead_rpc_url() -> Iterator[str]:
    """A URL where nothing answers: the port is held by a socket that never listens (connection refused)."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{holder.getsockname()[1]}"
