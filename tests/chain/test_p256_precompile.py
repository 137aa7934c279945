"""The emulated EIP-7951 P256VERIFY: exact input/output rules, directly and through the EVM."""

from __future__ import annotations

import hashlib

import pytest

from tests import vectors
from wattwitness.chain.embedded import EmbeddedChain
from wattwitness.chain.p256_precompile import VALID, p256_verify_input
from wattwitness.protocol.keys import N

RECORD, SIGNATURE = vectors.chain_items()[0]
DIGEST = hashlib.sha256(RECORD).digest()
KEY = vectors.public_key()
GOOD = DIGEST + SIGNATURE + KEY


def _with(r: int | None = None, s: int | None = None, key: bytes | None = None, digest: bytes = DIGEST) -> bytes:
    r_bytes = SIGNATURE[:32] if r is None else r.to_bytes(32, "big")
    s_bytes = SIGNATURE[32:] if s is None else s.to_bytes(32, "big")
    return digest + r_bytes + s_bytes + (KEY if key is None else key)


def test_valid_signature_and_its_high_s_twin():
    assert p256_verify_input(GOOD)
    s = int.from_bytes(SIGNATURE[32:], "big")
    assert p256_verify_input(_with(s=N - s))  # EIP-7951 does not insist on low s


@pytest.mark.parametrize(
    "data",
    [
        GOOD[:-1],
        GOOD + b"\x00",
        b"",
        _with(r=0),
        _with(s=0),
        _with(r=N),
        _with(s=N),
        _with(key=bytes(64)),  # the point at infinity has no affine encoding: not a key
        _with(key=KEY[:63] + bytes([KEY[63] ^ 1])),  # off the curve
        _with(digest=bytes(32)),
        _with(key=bytes.fromhex(vectors.ww2()["unregistered_key"]["public"])),
    ],
    ids=["short", "long", "empty", "r=0", "s=0", "r=n", "s=n", "infinity", "off-curve", "other-hash", "other-key"],
)
def test_everything_else_fails(data: bytes):
    assert not p256_verify_input(data)


def _call_0x100(chain: EmbeddedChain, data: bytes) -> bytes:
    return bytes(chain.w3.eth.call({"to": "0x" + "00" * 18 + "0100", "data": data, "gas": 100_000}))


def test_through_the_evm_valid_is_word_one_and_failure_is_empty_output():
    chain = EmbeddedChain()
    assert _call_0x100(chain, GOOD) == VALID
    assert _call_0x100(chain, _with(digest=bytes(32))) == b""
    assert _call_0x100(chain, GOOD[:100]) == b""


def test_a_chain_without_the_precompile_answers_nothing():
    assert _call_0x100(EmbeddedChain(with_p256=False), GOOD) == b""
