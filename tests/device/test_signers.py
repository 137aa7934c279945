"""Signers: key files (creation mode, permission refusal), the boot counter, and the ATECC608 logic."""

from __future__ import annotations

import hashlib
import os
import stat
import sys

import pytest

from wattwitness.device.atecc import AteccSigner
from wattwitness.device.errors import KeyFileError, SecureElementError, SignerError
from wattwitness.device.signer import Signer, SoftwareSigner, generate_key_file, load_key_file
from wattwitness.protocol import Reading, key_id, verify

from .fake_cryptoauthlib import FakeCryptoAuthLib, Status

RECORD = Reading(bytes.fromhex("EC64C9C05E97"), 1, 1, 1750352672, 16630, 21700000).encode()


def test_keygen_creates_0600_key_that_signs(tmp_path):
    path = tmp_path / "device.pem"
    public_key = generate_key_file(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert path.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    signer = SoftwareSigner.from_key_file(path)
    assert signer.public_key == public_key and signer.key_id == key_id(public_key)
    assert isinstance(signer, Signer)
    assert verify(public_key, RECORD, signer.sign(RECORD))
    assert not verify(public_key, RECORD[:-1] + b"\x01", signer.sign(RECORD))


def test_keygen_refuses_to_overwrite(tmp_path):
    path = tmp_path / "device.pem"
    generate_key_file(path)
    before = path.read_bytes()
    with pytest.raises(KeyFileError, match="refusing to overwrite"):
        generate_key_file(path)
    assert path.read_bytes() == before


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660, 0o602])
def test_key_file_accessible_by_others_is_refused(tmp_path, mode):
    path = tmp_path / "device.pem"
    generate_key_file(path)
    os.chmod(path, mode)
    with pytest.raises(KeyFileError, match=f"group/others \\(mode {mode:04o}\\).*chmod 600"):
        load_key_file(path)
    os.chmod(path, 0o400)
    load_key_file(path)


def test_key_file_errors(tmp_path):
    with pytest.raises(KeyFileError, match="does not exist"):
        load_key_file(tmp_path / "missing.pem")
    junk = tmp_path / "junk.pem"
    junk.write_text("not a key")
    os.chmod(junk, 0o600)
    with pytest.raises(KeyFileError, match="not an unencrypted PEM"):
        load_key_file(junk)


def test_boot_counter_persists_and_honours_minimum(tmp_path):
    key = tmp_path / "k.pem"
    generate_key_file(key)
    state = tmp_path / "state"
    signer = SoftwareSigner.from_key_file(key, state)
    assert [signer.next_boot_epoch() for _ in range(3)] == [1, 2, 3]
    again = SoftwareSigner.from_key_file(key, state)
    assert again.next_boot_epoch() == 4
    assert again.next_boot_epoch(minimum=10) == 10
    assert again.next_boot_epoch(minimum=2) == 11
    assert (state / "boot_epoch").read_text() == "11\n"
    with pytest.raises(SignerError, match="no state directory"):
        SoftwareSigner.from_key_file(key).next_boot_epoch()


def test_atecc_signer_uses_slot0_and_counter0():
    lib = FakeCryptoAuthLib(counter=41)
    signer = AteccSigner(lib=lib, i2c_bus=3, i2c_address=0xC2)
    assert lib.loaded and lib.initialised_with is not None
    assert (lib.initialised_with.cfg.atcai2c.bus, lib.initialised_with.cfg.atcai2c.address) == (3, 0xC2)
    assert isinstance(signer, Signer)
    signature = signer.sign(RECORD)
    assert lib.signed_digests == [hashlib.sha256(RECORD).digest()]
    assert verify(signer.public_key, RECORD, signature)
    assert signer.next_boot_epoch() == 42
    assert signer.next_boot_epoch(minimum=43) == 43
    assert lib.counters[0] == 43
    signer.close()
    assert lib.released


def test_atecc_counter_below_server_boot_is_an_error():
    signer = AteccSigner(lib=FakeCryptoAuthLib(counter=5))
    with pytest.raises(SecureElementError, match="counter is at 6 but the server already holds boot 9"):
        signer.next_boot_epoch(minimum=10)


def test_atecc_failures_are_clear():
    lib = FakeCryptoAuthLib()
    lib.fail["atcab_init"] = Status.ATCA_COMM_FAIL
    with pytest.raises(SecureElementError, match=r"atcab_init .*bus 1 at 0xC0.*ATCA_COMM_FAIL"):
        AteccSigner(lib=lib)
    lib = FakeCryptoAuthLib()
    signer = AteccSigner(lib=lib)
    lib.fail["atcab_sign"] = Status.ATCA_EXECUTION_ERROR
    with pytest.raises(SecureElementError, match=r"atcab_sign.*ATCA_EXECUTION_ERROR"):
        signer.sign(RECORD)
    del lib.fail["atcab_sign"]
    lib.corrupt_signatures = True
    with pytest.raises(SecureElementError, match="does not verify"):
        signer.sign(RECORD)


def test_atecc_without_cryptoauthlib_says_how_to_install(monkeypatch):
    # None in sys.modules makes any import of the name fail, whether or not the extra is installed.
    monkeypatch.setitem(sys.modules, "cryptoauthlib", None)
    with pytest.raises(SecureElementError, match=r"wattwitness\[atecc\]"):
        AteccSigner()
