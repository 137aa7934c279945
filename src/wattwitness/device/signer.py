"""The signer interface, and the software signer: a P-256 key file plus a boot counter in the state directory.

A software key is for development and for gateways without a secure element (PROTOCOL.md §1); the
installation must be marked so. The ATECC608 signer (`wattwitness.device.atecc`) has the same interface.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Protocol, runtime_checkable

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from wattwitness.protocol import key_id, public_key_bytes, sign
from wattwitness.protocol.records import UINT32_MAX

from .errors import KeyFileError, SignerError

BOOT_COUNTER_FILE = "boot_epoch"


@runtime_checkable
class Signer(Protocol):
    """What the agent and `enroll` need from a signing device."""

    # Where the private key lives, as the installation records it: "software" or "secure_element".
    key_storage: str

    @property
    def public_key(self) -> bytes:
        """64 bytes X||Y."""
        ...

    def sign(self, message: bytes) -> bytes:
        """Signs SHA-256(message); returns 64 bytes r||s."""
        ...

    def next_boot_epoch(self, minimum: int = 1) -> int:
        """Advances the boot epoch durably and returns it; never returns a value it returned before,
        and never one below `minimum` (what the server already holds)."""
        ...

    def close(self) -> None: ...


def generate_key_file(path: Path) -> bytes:
    """Creates a new P-256 key as an unencrypted PKCS#8 PEM file with mode 0600; returns the public key.

    Refuses to overwrite: a lost key is a lost installation, so the caller must delete one explicitly.
    """
    private_key = ec.generate_private_key(ec.SECP256R1())
    pem = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    try:
        # O_EXCL + mode at creation: the key is never, even briefly, readable by others.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as err:
        raise KeyFileError(f"{path} already exists; refusing to overwrite a key") from err
    except OSError as err:
        raise KeyFileError(f"cannot create key file {path}: {err.strerror}") from err
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
        handle.flush()
        os.fsync(handle.fileno())
    return public_key_bytes(private_key)


def load_key_file(path: Path) -> ec.EllipticCurvePrivateKey:
    """Loads a P-256 PEM key, refusing a file that anyone but its owner can read or write."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError as err:
        raise KeyFileError(f"key file {path} does not exist (create one with `wattwitness keygen`)") from err
    except OSError as err:
        raise KeyFileError(f"cannot read key file {path}: {err.strerror}") from err
    if not stat.S_ISREG(mode):
        raise KeyFileError(f"key file {path} is not a regular file")
    if mode & 0o077:
        raise KeyFileError(f"key file {path} is accessible by group/others (mode {stat.S_IMODE(mode):04o}); "
                           f"run `chmod 600 {path}`")
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as err:
        raise KeyFileError(f"key file {path} is not an unencrypted PEM private key") from err
    except OSError as err:
        raise KeyFileError(f"cannot read key file {path}: {err.strerror}") from err
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise KeyFileError(f"key file {path} does not hold a P-256 (secp256r1) key")
    return key


class FileBootCounter:
    """A uint32 counter in one file, replaced atomically and fsynced before its new value is used.

    Stands in for the ATECC608's monotonic counter; unlike the chip it can be lost with the state
    directory, which is why the agent asks the server for the last boot it holds.
    """

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / BOOT_COUNTER_FILE

    def read(self) -> int:
        try:
            text = self.path.read_text().strip()
        except FileNotFoundError:
            return 0
        except OSError as err:
            raise SignerError(f"cannot read boot counter {self.path}: {err.strerror}") from err
        if not text.isdigit():
            raise SignerError(f"boot counter {self.path} holds {text!r}, not a number")
        return int(text)

    def advance(self, minimum: int = 1) -> int:
        value = max(self.read() + 1, minimum)
        if value > UINT32_MAX:
            raise SignerError("boot counter exhausted (uint32)")
        tmp = self.path.with_suffix(".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with tmp.open("w") as handle:
                handle.write(f"{value}\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as err:
            raise SignerError(f"cannot persist boot counter {self.path}: {err.strerror}") from err
        return value


class SoftwareSigner:
    """Signs with a key file. `state_dir` holds the boot counter; without it the signer can only sign
    (enough for `enroll`)."""

    key_storage = "software"

    def __init__(self, private_key: ec.EllipticCurvePrivateKey, state_dir: Path | None = None) -> None:
        self._private_key = private_key
        self._public_key = public_key_bytes(private_key)
        self._counter = FileBootCounter(state_dir) if state_dir is not None else None

    @classmethod
    def from_key_file(cls, path: Path, state_dir: Path | None = None) -> SoftwareSigner:
        return cls(load_key_file(path), state_dir)

    @property
    def public_key(self) -> bytes:
        return self._public_key

    @property
    def key_id(self) -> str:
        return key_id(self._public_key)

    def sign(self, message: bytes) -> bytes:
        return sign(self._private_key, message)

    def next_boot_epoch(self, minimum: int = 1) -> int:
        if self._counter is None:
            raise SignerError("this software signer has no state directory to keep its boot counter in")
        return self._counter.advance(minimum)

    def close(self) -> None:
        """Nothing to release; present for the Signer interface."""
