"""EIP-7951 P256VERIFY emulated inside py-evm, so the embedded chain verifies device signatures on-chain.

py-evm knows forks up to Prague and has no P-256 precompile. EIP-7951 (Fusaka) puts it at 0x100:
input `hash(32) ‖ r(32) ‖ s(32) ‖ x(32) ‖ y(32)`, 6,900 gas; output the 32-byte word 1 when the
signature is valid, and *empty* output (not an error) for an invalid signature or any bad input:
wrong length, r or s outside [1, n-1], a point not on the curve or at infinity. Real chains that ship
the precompile behave the same, so the contract is tested against exactly what it will meet.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, encode_dss_signature
from cryptography.hazmat.primitives.hashes import SHA256
from eth.abc import ComputationAPI
from eth.vm.forks.prague import PragueVM
from eth.vm.forks.prague.computation import PragueComputation
from eth.vm.forks.prague.state import PragueState
from eth_utils.toolz import merge

from wattwitness.protocol.keys import N

P256VERIFY_ADDRESS = (0x100).to_bytes(20, "big")
P256VERIFY_GAS = 6900
INPUT_LEN = 160
VALID = (1).to_bytes(32, "big")
_PREHASHED = ec.ECDSA(Prehashed(SHA256()))


def p256_verify_input(data: bytes) -> bool:
    """The precompile's decision for one input: True only for a valid signature on a valid key."""
    if len(data) != INPUT_LEN:
        return False
    digest = data[0:32]
    r = int.from_bytes(data[32:64], "big")
    s = int.from_bytes(data[64:96], "big")
    if not (0 < r < N and 0 < s < N):
        return False
    try:
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + data[96:160])
    except ValueError:  # not on the curve (the point at infinity has no such encoding either)
        return False
    try:
        key.verify(encode_dss_signature(r, s), digest, _PREHASHED)
    except InvalidSignature:
        return False
    return True


def p256verify(computation: ComputationAPI) -> ComputationAPI:
    computation.consume_gas(P256VERIFY_GAS, reason="P256VERIFY precompile (EIP-7951)")
    computation.output = VALID if p256_verify_input(bytes(computation.msg.data)) else b""
    return computation


class P256Computation(PragueComputation):
    """Prague computation with P256VERIFY registered at 0x100."""

    _precompiles = merge(PragueComputation._precompiles, {P256VERIFY_ADDRESS: p256verify})


class P256State(PragueState):
    computation_class = P256Computation


class PragueP256VM(PragueVM):
    """Prague plus EIP-7951: what the embedded chain runs."""

    fork = "prague+p256verify"
    _state_class = P256State
