"""A fake of exactly the cryptoauthlib calls `AteccSigner` makes, signing with a real P-256 key.

The real library is a ctypes layer over the chip; this fake keeps its call shapes (bytearray out
parameters, AtcaReference for counters, Status codes) so the signer's logic is tested as it will run.
"""

from __future__ import annotations

from enum import IntEnum

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, decode_dss_signature

from wattwitness.protocol import public_key_bytes


class Status(IntEnum):
    # Values as in cryptoauthlib's status.py.
    ATCA_SUCCESS = 0x00
    ATCA_COMM_FAIL = 0xF0
    ATCA_EXECUTION_ERROR = 0xF4
    ATCA_BAD_PARAM = 0xE2


class AtcaReference:
    def __init__(self, value: int) -> None:
        self.value = value


class _I2C:
    bus = 0
    address = 0


class _Cfg:
    def __init__(self) -> None:
        self.cfg = type("cfg", (), {"atcai2c": _I2C()})()


class FakeCryptoAuthLib:
    def __init__(self, counter: int = 0) -> None:
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.counters = {0: counter, 1: 0}
        self.loaded = False
        self.initialised_with: _Cfg | None = None
        self.released = False
        self.fail: dict[str, Status] = {}
        self.corrupt_signatures = False
        self.signed_digests: list[bytes] = []
        self.Status = Status
        self.AtcaReference = AtcaReference

    def load_cryptoauthlib(self) -> None:
        self.loaded = True

    def cfg_ateccx08a_i2c_default(self) -> _Cfg:
        return _Cfg()

    def atcab_init(self, cfg: _Cfg) -> Status:
        if "atcab_init" in self.fail:
            return self.fail["atcab_init"]
        self.initialised_with = cfg
        return Status.ATCA_SUCCESS

    def atcab_release(self) -> Status:
        self.released = True
        return Status.ATCA_SUCCESS

    def atcab_get_pubkey(self, key_id: int, public_key: bytearray) -> Status:
        assert key_id == 0 and isinstance(public_key, bytearray) and len(public_key) == 64
        public_key[:] = public_key_bytes(self.private_key)
        return Status.ATCA_SUCCESS

    def atcab_sign(self, key_id: int, msg: bytes, signature: bytearray) -> Status:
        # The chip signs a 32-byte digest it is given (it never hashes the message itself).
        assert key_id == 0 and len(msg) == 32 and isinstance(signature, bytearray)
        if "atcab_sign" in self.fail:
            return self.fail["atcab_sign"]
        self.signed_digests.append(bytes(msg))
        r, s = decode_dss_signature(self.private_key.sign(bytes(msg), ec.ECDSA(Prehashed(hashes.SHA256()))))
        if self.corrupt_signatures:
            s = s ^ 1
        signature[:] = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return Status.ATCA_SUCCESS

    def atcab_counter_increment(self, counter_id: int, counter_value: AtcaReference) -> Status:
        if not isinstance(counter_value, AtcaReference):
            return Status.ATCA_BAD_PARAM
        # Monotonic, as on the chip: there is no call to lower it.
        self.counters[counter_id] += 1
        counter_value.value = self.counters[counter_id]
        return Status.ATCA_SUCCESS
