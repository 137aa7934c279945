"""host_device's command line: bad input gives a message and exit code 2, never a crash."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest


@pytest.mark.parametrize(("args", "message"), [
    ([], "--server must be an http:// URL"),
    (["--server", "ftp://x", "--meter", "http://127.0.0.1:1", "--state", "s"], "--server must be an http:// URL"),
    (["--server", "http://127.0.0.1:1", "--meter", "meter", "--state", "s"], "--meter must be an http:// URL"),
    (["--server", "http://127.0.0.1:1", "--meter", "http://127.0.0.1:1"], "--state DIR is required"),
    (["--gen", "3"], "bad option or value: --gen 3"),
    (["--interval-ms", "soon"], "bad option or value: --interval-ms soon"),
    (["--colour"], "missing value for --colour"),
])
def test_bad_arguments_are_refused_with_a_message(host_device: Path, args: list[str], message: str) -> None:
    done = subprocess.run([str(host_device), *args], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert message in done.stderr
    assert "usage: host_device" in done.stderr


def test_a_device_that_cannot_reach_the_meter_signs_nothing_and_times_out(host_device: Path, tmp_path: Path) -> None:
    # Port 9 (discard) on localhost is closed here: the meter is unreachable, so no record may be signed.
    done = subprocess.run(
        [str(host_device), "--server", "http://127.0.0.1:9", "--meter", "http://127.0.0.1:9", "--state",
         str(tmp_path / "device"), "--interval-ms", "200", "--readings", "1", "--timeout-s", "1"],
        capture_output=True, text=True, timeout=30)
    assert done.returncode == 1, done.stdout
    assert "METER fail meter unreachable (/status)" in done.stdout
    assert "RECORD" not in done.stdout
    assert "TIMEOUT seq=0 queued=0 enrolled=no" in done.stdout
