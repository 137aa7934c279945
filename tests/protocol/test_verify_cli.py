"""`wattwitness verify` as a user runs it: a real subprocess on a file made from the vectors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests import vectors

PUB_HEX = vectors.ww2()["key"]["public"]


def run_verify(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wattwitness.cli", "verify", "--public-key", PUB_HEX,
                           *extra, str(path)], capture_output=True, text=True, timeout=60)


def write_export(path: Path, items: list[tuple[bytes, bytes]]) -> Path:
    path.write_text("".join(json.dumps({"record": r.hex(), "signature": s.hex()}) + "\n" for r, s in items))
    return path


def test_vector_chain_verifies(tmp_path):
    result = run_verify(write_export(tmp_path / "export.jsonl", vectors.chain_items()))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == (
        "6 records: 6 verified, 0 invalid, 0 gaps, 0 chain breaks, 0 counter resets")


def test_one_changed_byte_names_the_line_and_fails(tmp_path):
    items = vectors.chain_items()
    record, signature = items[3]
    items[3] = (record[:30] + bytes([record[30] ^ 0x01]) + record[31:], signature)
    result = run_verify(write_export(tmp_path / "export.jsonl", items))
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("line 4: invalid_signature")
    assert lines[-1] == "6 records: 4 verified, 1 invalid, 1 gaps, 0 chain breaks, 0 counter resets"


def test_unreadable_line_is_malformed_not_a_crash(tmp_path):
    path = write_export(tmp_path / "export.jsonl", vectors.chain_items())
    path.write_text(path.read_text() + "{not json\n")
    result = run_verify(path)
    assert result.returncode == 1
    assert "line 7: malformed" in result.stdout
    assert "Traceback" not in result.stderr


def test_bad_key_is_a_clear_error(tmp_path):
    path = write_export(tmp_path / "export.jsonl", vectors.chain_items())
    result = subprocess.run([sys.executable, "-m", "wattwitness.cli", "verify", "--public-key", "abcd",
                             str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "--public-key has 64 bytes" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_record_is_a_gap_and_fails_only_with_strict(tmp_path):
    items = vectors.chain_items()
    del items[2]
    path = write_export(tmp_path / "export.jsonl", items)
    lenient = run_verify(path)
    assert lenient.returncode == 0  # a device may lose records honestly: valid, but incomplete
    assert "line 3: gap" in lenient.stdout
    assert lenient.stdout.strip().splitlines()[-1] == (
        "5 records: 4 verified, 0 invalid, 1 gaps, 0 chain breaks, 0 counter resets")
    assert run_verify(path, "--strict").returncode == 1
