"""The device commands as an operator runs them: real subprocesses, a real simulator, a real stub server."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from typer.testing import CliRunner

from tests.ports import free_port
from wattwitness.cli import app
from wattwitness.device.enrollment import signed_enrollment
from wattwitness.device.signer import SoftwareSigner, generate_key_file
from wattwitness.protocol import Enrollment, parse_mac, verify, verify_chain

from .conftest import SIM_MAC
from .stub_server import StubServer

CLI = [sys.executable, "-m", "wattwitness.cli"]


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout)


def keygen(path: Path) -> bytes:
    result = run("keygen", "--out", str(path))
    assert result.returncode == 0, result.stderr
    match = re.search(r"public key: ([0-9a-f]{128})\nkey id: ([0-9a-f]{16})", result.stdout)
    assert match, result.stdout
    return bytes.fromhex(match.group(1))


@pytest.fixture
def meter_process():
    port = free_port()
    process = subprocess.Popen([*CLI, "simulate-meter", "--port", str(port), "--gen", "2", "--speed", "60",
                                "--start", str(int(time.time()) - 86400), "--mac", SIM_MAC],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60  # generous: a loaded CI machine imports slowly
    while True:
        try:
            httpx.get(url + "/rpc/Shelly.GetDeviceInfo", timeout=1)
            break
        except httpx.HTTPError:
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, "simulator did not start"
            time.sleep(0.1)
    yield url
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=10)


def test_keygen_prints_key_and_refuses_overwrite(tmp_path):
    path = tmp_path / "device.pem"
    keygen(path)
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    again = run("keygen", "--out", str(path))
    assert again.returncode == 1
    assert "refusing to overwrite" in again.stderr and "Traceback" not in again.stderr


def test_agent_refuses_a_group_readable_key(tmp_path):
    path = tmp_path / "device.pem"
    keygen(path)
    os.chmod(path, 0o644)
    result = run("agent", "--server", "http://127.0.0.1:9", "--meter", "http://127.0.0.1:9", "--key", str(path),
                 "--state", str(tmp_path / "state"))
    assert result.returncode == 1
    assert "chmod 600" in result.stderr and "Traceback" not in result.stderr


def test_agent_option_errors_are_one_line(tmp_path, key_file):
    runner = CliRunner()
    base = ["agent", "--server", "http://127.0.0.1:9", "--meter", "http://127.0.0.1:9", "--state", str(tmp_path / "s")]
    for extra, message in ((["--key", str(key_file), "--log-level", "LOUD"], "--log-level"),
                           ([], "--key is required"),
                           (["--key", str(key_file), "--signer", "hsm"], "software or atecc")):
        result = runner.invoke(app, [*base, *extra])
        assert result.exit_code == 2, result.output
        assert message in result.stderr and "Traceback" not in result.output


def test_agent_with_an_unusable_state_directory(tmp_path, key_file):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = CliRunner().invoke(app, ["agent", "--server", "http://127.0.0.1:9", "--meter", "http://127.0.0.1:9",
                                      "--key", str(key_file), "--state", str(blocker / "state")])
    assert result.exit_code == 1 and "outbox failed to open" in result.stderr, result.output


def test_simulator_rejects_a_bad_mac():
    result = run("simulate-meter", "--port", "0", "--mac", "xyz")
    assert result.returncode == 2 and "--mac" in result.stderr and "Traceback" not in result.stderr


def test_agent_against_simulated_gen2_meter_and_stub_server(tmp_path, meter_process):
    key = tmp_path / "device.pem"
    public_key = keygen(key)
    stub = StubServer(public_key, parse_mac(SIM_MAC)).start()
    try:
        result = run("agent", "--server", stub.url, "--meter", meter_process, "--gen", "2", "--key", str(key),
                     "--state", str(tmp_path / "state"), "--interval", "0.1", "--max-records", "6")
        assert result.returncode == 0, result.stderr
        assert "boot 1: 6 signed, 6 delivered, 0 pending" in result.stdout
        assert stub.state.stored == [(1, s) for s in range(1, 7)]
        report = verify_chain(stub.state.items(), public_key, parse_mac(SIM_MAC))
        assert report.ok and report.verified == 6, report.summary()
        again = run("agent", "--server", stub.url, "--meter", meter_process, "--gen", "2", "--key", str(key),
                    "--state", str(tmp_path / "state"), "--interval", "0.1", "--max-records", "2")
        assert again.returncode == 0 and "boot 2: 2 signed" in again.stdout
        assert stub.state.stored[-2:] == [(2, 1), (2, 2)]
    finally:
        stub.stop()


def test_enroll_signs_the_meters_mac_and_reports_conflicts(tmp_path, key_file, public_key, simulator):
    """In-process (typer's runner) to keep it quick; the same command code as the subprocess tests."""
    runner = CliRunner()
    stub = StubServer(public_key, parse_mac(SIM_MAC)).start()
    common = ["--server", stub.url, "--meter", simulator.url, "--gen", "1", "--name", "Rooftop",
              "--timezone", "Europe/Zurich", "--capacity-w", "5000"]
    try:
        first = runner.invoke(app, ["enroll", "--token", "admin-token", "--key", str(key_file), *common])
        assert first.exit_code == 0, first.output
        assert first.stdout.strip().splitlines()[-1] == "1"
        installation = stub.state.enrolled[0]
        assert installation["shelly_mac"] == SIM_MAC and installation["capacity_w"] == 5000
        assert installation["public_key"] == public_key.hex()
        assert installation["key_storage"] == "software"
        same = runner.invoke(app, ["enroll", "--token", "admin-token", "--key", str(key_file), *common])
        assert same.exit_code == 0 and "already enrolled" in same.stdout

        other = tmp_path / "other.pem"
        generate_key_file(other)
        for token, key_path, status_text in (("nope", key_file, "token was not accepted"),
                                             ("viewer-token", key_file, "does not allow"),
                                             ("admin-token", other, "already bound")):
            result = runner.invoke(app, ["enroll", "--token", token, "--key", str(key_path), *common])
            assert result.exit_code == 1, result.output
            assert status_text in result.stderr and "Traceback" not in result.output
        unreachable = runner.invoke(app, ["enroll", "--token", "admin-token", "--key", str(key_file),
                                          *common[:2], "--meter", "http://127.0.0.1:9", *common[4:]])
        assert unreachable.exit_code == 1 and "unreachable" in unreachable.stderr
    finally:
        stub.stop()


def test_enrollment_record_is_signed_by_the_key():
    signer = SoftwareSigner(ec.generate_private_key(ec.SECP256R1()))
    record, signature = signed_enrollment(signer, parse_mac(SIM_MAC), 1750352672)
    assert Enrollment.decode(record) == Enrollment(parse_mac(SIM_MAC), 1750352672, signer.public_key)
    assert verify(signer.public_key, record, signature)
