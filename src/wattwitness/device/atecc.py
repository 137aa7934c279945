"""The ATECC608 signer: the key lives in slot 0 of the secure element and never leaves it.

Talks to the chip through Microchip's `cryptoauthlib` (the optional `atecc` extra), imported lazily so
that everything else runs without it. The boot epoch is the chip's monotonic counter 0, which cannot go
back even if the Pi's SD card is wiped. Only these library calls are used (and faked in the tests):
`load_cryptoauthlib`, `cfg_ateccx08a_i2c_default`, `atcab_init`, `atcab_get_pubkey`, `atcab_sign`,
`atcab_counter_increment`, `AtcaReference`, `atcab_release`, `Status`.
"""

from __future__ import annotations

import hashlib
import importlib
from types import ModuleType
from typing import Any

from wattwitness.protocol import key_id, verify
from wattwitness.protocol.outcomes import ProtocolError

from .errors import SecureElementError

KEY_SLOT = 0
BOOT_COUNTER_ID = 0
DEFAULT_I2C_BUS = 1
# cryptoauthlib takes the 8-bit I²C address: 0xC0 is the ATECC608's factory 0x60.
DEFAULT_I2C_ADDRESS = 0xC0


def import_cryptoauthlib() -> ModuleType:
    try:
        return importlib.import_module("cryptoauthlib")
    except ImportError as err:
        raise SecureElementError("the ATECC608 signer needs cryptoauthlib: pip install 'wattwitness[atecc]'") from err


class AteccSigner:
    """Signs with the ATECC608's slot 0 key. `lib` is the cryptoauthlib module (or a fake with its calls)."""

    key_storage = "secure_element"

    def __init__(self, lib: Any = None, i2c_bus: int = DEFAULT_I2C_BUS,
                 i2c_address: int = DEFAULT_I2C_ADDRESS) -> None:
        self._lib = lib if lib is not None else import_cryptoauthlib()
        self._open = False
        self._lib.load_cryptoauthlib()
        cfg = self._lib.cfg_ateccx08a_i2c_default()
        cfg.cfg.atcai2c.bus = i2c_bus
        # The field was renamed between cryptoauthlib releases.
        if hasattr(cfg.cfg.atcai2c, "address"):
            cfg.cfg.atcai2c.address = i2c_address
        else:
            cfg.cfg.atcai2c.slave_address = i2c_address
        self._check(self._lib.atcab_init(cfg), "atcab_init (is the chip on I²C bus "
                                                f"{i2c_bus} at 0x{i2c_address:02X}?)")
        self._open = True
        public_key = bytearray(64)
        # GenKey in public-key mode: recomputes slot 0's public key from the private key inside the chip.
        self._check(self._lib.atcab_get_pubkey(KEY_SLOT, public_key), "atcab_get_pubkey(slot 0)")
        self._public_key = bytes(public_key)

    def _check(self, status: Any, call: str) -> None:
        success = self._lib.Status.ATCA_SUCCESS
        if status != success:
            name = getattr(status, "name", None) or f"0x{int(status):02X}"
            raise SecureElementError(f"ATECC608 {call} failed with status {name}")

    @property
    def public_key(self) -> bytes:
        return self._public_key

    @property
    def key_id(self) -> str:
        return key_id(self._public_key)

    def sign(self, message: bytes) -> bytes:
        digest = hashlib.sha256(message).digest()
        signature = bytearray(64)
        self._check(self._lib.atcab_sign(KEY_SLOT, digest, signature), "atcab_sign(slot 0)")
        result = bytes(signature)
        # A signature that does not verify must never reach the outbox: check it here, where it is cheap.
        try:
            valid = verify(self._public_key, message, result)
        except ProtocolError:
            valid = False
        if not valid:
            raise SecureElementError("the ATECC608 returned a signature that does not verify under slot 0's key")
        return result

    def next_boot_epoch(self, minimum: int = 1) -> int:
        counter = self._lib.AtcaReference(0)
        self._check(self._lib.atcab_counter_increment(BOOT_COUNTER_ID, counter), "atcab_counter_increment(0)")
        value = int(counter.value)
        if value < minimum:
            # The chip's counter only goes up; a server holding a higher boot for this key means another
            # history was signed elsewhere, which a person must look at.
            raise SecureElementError(f"the ATECC608 boot counter is at {value} but the server already holds boot "
                                     f"{minimum - 1} for key {self.key_id}")
        return value

    def close(self) -> None:
        if self._open:
            self._open = False
            self._lib.atcab_release()
