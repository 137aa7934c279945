"""P-256 keys and signatures in the raw forms the ATECC608 uses: X||Y public keys, r||s signatures."""

from __future__ import annotations

import hashlib
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from wattwitness.protocol.outcomes import ProtocolError

# Order of the P-256 group.
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
PUBLIC_KEY_LEN = 64
SIGNATURE_LEN = 64
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())


def parse_hex(text: str, length: int, what: str) -> bytes:
    """Hex text of an exact byte length, either case; a clear error otherwise."""
    try:
        raw = bytes.fromhex(text)
    except (ValueError, TypeError) as err:
        raise ProtocolError(f"{what} is not hex") from err
    if len(raw) != length:
        raise ProtocolError(f"{what} has {length} bytes, got {len(raw)}")
    return raw


def key_id(public_key: bytes) -> str:
    """First 8 bytes of SHA-256(X||Y) as 16 hex characters: a short name for logs and screens."""
    return hashlib.sha256(public_key).digest()[:8].hex()


@lru_cache(maxsize=4096)
def load_public_key(public_key: bytes) -> ec.EllipticCurvePublicKey:
    """Decodes (and checks the point is on the curve) once per key; verification is the hot path."""
    if len(public_key) != PUBLIC_KEY_LEN:
        raise ProtocolError(f"a public key has {PUBLIC_KEY_LEN} bytes (X||Y), got {len(public_key)}")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + public_key)
    except ValueError as err:
        raise ProtocolError("public key is not a point on P-256") from err


def public_key_bytes(key: ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey) -> bytes:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        key = key.public_key()
    numbers = key.public_numbers()
    return numbers.x.to_bytes(32, "big") + numbers.y.to_bytes(32, "big")


def verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """ECDSA-P256-SHA256 over `message`; any s in [1, n-1] is valid (the ATECC608 does not normalise)."""
    if len(signature) != SIGNATURE_LEN:
        raise ProtocolError(f"a signature has {SIGNATURE_LEN} bytes (r||s), got {len(signature)}")
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    if not (1 <= r < N and 1 <= s < N):
        return False
    try:
        load_public_key(public_key).verify(encode_dss_signature(r, s), message, _ECDSA_SHA256)
    except InvalidSignature:
        return False
    return True


def sign(private_key: ec.EllipticCurvePrivateKey, message: bytes) -> bytes:
    """Signs SHA-256(message) and returns r||s (s as the library returns it, not normalised)."""
    r, s = decode_dss_signature(private_key.sign(message, _ECDSA_SHA256))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def low_s(signature: bytes) -> bytes:
    """Replaces a high s by n - s, for verifiers (some on-chain ones) that insist on low-s."""
    s = int.from_bytes(signature[32:], "big")
    if s > N // 2:
        s = N - s
    return signature[:32] + s.to_bytes(32, "big")


def private_key_from_scalar(scalar: int) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(scalar, ec.SECP256R1())
