"""End to end: the firmware's own device loop, built for the host (`firmware/esp32/test/build/host_device`,
OpenSSL standing in for the ATECC608), reads the Shelly simulator (`wattwitness simulate-meter`) and
enrolls with and delivers signed WW2 records to the real `wattwitness serve`, which stores them as verified.
A second run of the same device state is a reboot: a new boot epoch whose first record links to the last
one of the previous boot. A server outage in the middle loses nothing: the ring buffer holds the records.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from wattwitness.protocol import Reading, parse_mac, verify_chain

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
FIRMWARE_TEST_DIR = REPO / "firmware" / "esp32" / "test"
HOST_DEVICE = FIRMWARE_TEST_DIR / "build" / "host_device"
METER_MAC = "EC64C9C05E97"
PORT_RANGE = range(18600, 18700)  # this area's ports


def free_port() -> int:
    for port in PORT_RANGE:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.fail(f"no free port in {PORT_RANGE.start}-{PORT_RANGE.stop - 1}")


def stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def wait_until(check: Callable[[], bool], what: str, process: subprocess.Popen[Any], log: Path,
               timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{what} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{what} did not come up within {timeout_s} s:\n{log.read_text()[-3000:]}")


@dataclass
class Server:
    url: str
    admin_token: str
    data_dir: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "WATTWITNESS_DATA_DIR": str(self.data_dir),
            "WATTWITNESS_DATABASE_URL": f"sqlite:///{self.data_dir / 'wattwitness.db'}",
            "WATTWITNESS_ADMIN_TOKEN": self.admin_token,
            # The internet probe must not leave this machine during tests.
            "WATTWITNESS_INTERNET_PROBE_TARGET": f"127.0.0.1:{self.port}",
        }
        log = self.data_dir / "server.log"
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "wattwitness.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=self.data_dir, env=env, stdout=out, stderr=subprocess.STDOUT)
        wait_until(lambda: httpx.get(f"{self.url}/health", timeout=2).status_code == 200, "wattwitness serve",
                   self.process, log, timeout_s=90)

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None

    def enrollment_token(self) -> str:
        answer = httpx.post(f"{self.url}/api/v1/enrollment-tokens/", timeout=10,
                            headers={"Authorization": f"Bearer {self.admin_token}"})
        assert answer.status_code == 201, answer.text
        return str(answer.json()["token"])


@pytest.fixture(scope="module")
def host_device() -> Path:
    build = subprocess.run(["make", "-C", str(FIRMWARE_TEST_DIR), "host_device"], capture_output=True, text=True,
                           timeout=300)
    assert build.returncode == 0, f"building host_device failed:\n{build.stdout[-2000:]}\n{build.stderr[-3000:]}"
    assert HOST_DEVICE.exists()
    return HOST_DEVICE


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    data_dir = tmp_path / "server"
    data_dir.mkdir()
    port = free_port()
    server = Server(f"http://127.0.0.1:{port}", secrets.token_urlsafe(32), data_dir, port)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def simulated_meter(tmp_path: Path, gen: int) -> Iterator[str]:
    port = free_port()
    log = tmp_path / f"meter-gen{gen}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "wattwitness.cli", "simulate-meter", "--port", str(port), "--gen", str(gen),
             "--mac", METER_MAC, "--peak-w", "5000", "--initial-wh", "21700"],
            stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    probe = "/status" if gen == 1 else "/rpc/Shelly.GetDeviceInfo"
    try:
        wait_until(lambda: httpx.get(url + probe, timeout=2).status_code == 200, "simulate-meter", process, log)
        yield url
    finally:
        stop(process)


@pytest.fixture
def meter(tmp_path: Path) -> Iterator[str]:
    with simulated_meter(tmp_path, gen=1) as url:
        yield url


def run_device(binary: Path, state: Path, server_url: str, meter_url: str, token: str, readings: int,
               timeout_s: int = 90, gen: int = 1) -> list[str]:
    done = subprocess.run(
        [str(binary), "--server", server_url, "--meter", meter_url, "--state", str(state), "--token", token,
         "--gen", str(gen),
         "--interval-ms", "1000", "--readings", str(readings), "--timeout-s", str(timeout_s),
         "--name", "Host-built ESP32 firmware", "--capacity-w", "5000"],
        capture_output=True, text=True, timeout=timeout_s + 30)
    lines = done.stdout.splitlines()
    assert done.returncode == 0, f"host_device exited {done.returncode}:\n{done.stdout[-4000:]}\n{done.stderr[-2000:]}"
    return lines


def stored_readings(server: Server, installation_id: int) -> list[dict]:
    answer = httpx.get(f"{server.url}/api/v1/readings/{installation_id}", params={"limit": 1000}, timeout=10)
    assert answer.status_code == 200, answer.text
    return sorted(answer.json()["readings"], key=lambda r: (r["boot"], r["seq"]))


def the_installation(server: Server) -> dict:
    answer = httpx.get(f"{server.url}/api/v1/installations/", timeout=10)
    assert answer.status_code == 200, answer.text
    installations = answer.json()
    assert len(installations) == 1, installations
    return installations[0]


def test_host_built_firmware_enrolls_and_its_records_are_stored_verified_across_a_reboot(
        host_device: Path, server: Server, meter: str, tmp_path: Path) -> None:
    state = tmp_path / "device"
    token = server.enrollment_token()

    first = run_device(host_device, state, server.url, meter, token, readings=4)
    boot_line = next(line for line in first if line.startswith("BOOT "))
    assert boot_line.startswith("BOOT epoch=1 key=") and "head=none" in boot_line
    assert any(line.startswith("CHAIN restart") for line in first)
    assert any(line.startswith("ENROLL ok status=201") for line in first), first
    key_id = re.search(r"key=([0-9a-f]{16})", boot_line).group(1)

    installation = the_installation(server)
    assert installation["key_id"] == key_id
    assert installation["shelly_mac"].replace(":", "").upper() == METER_MAC
    public_key = bytes.fromhex(installation["public_key"])

    # Reboot: same flash and secure element; the token is spent, the device remembers it enrolled.
    second = run_device(host_device, state, server.url, meter, "spent-token", readings=3)
    assert any(line.startswith("BOOT epoch=2 key=" + key_id) for line in second), second
    assert not any(line.startswith(("CHAIN restart", "ENROLL")) for line in second), second

    readings = stored_readings(server, installation["id"])
    assert [(r["boot"], r["seq"]) for r in readings] == [(1, 1), (1, 2), (1, 3), (1, 4), (2, 1), (2, 2), (2, 3)]
    assert all(r["status"] == "verified" and r["is_verified"] for r in readings), readings
    items = [(bytes.fromhex(r["record"]), bytes.fromhex(r["signature"])) for r in readings]
    report = verify_chain(items, public_key, parse_mac(METER_MAC))
    assert (report.verified, report.invalid, report.gaps, report.chain_breaks) == (7, 0, 0, 0), report.summary()
    decoded = [Reading.decode(record) for record, _ in items]
    # Energy is the meter's Wh counter in mWh (the simulator started at 21700 Wh), never x1000 again.
    assert all(21_700_000 <= reading.energy_mwh < 21_800_000 for reading in decoded)
    assert [r["total_wh"] * 1000 for r in readings] == pytest.approx([d.energy_mwh for d in decoded])


def test_records_signed_during_a_server_outage_are_delivered_in_order_afterwards(
        host_device: Path, server: Server, meter: str, tmp_path: Path) -> None:
    state = tmp_path / "device"
    token = server.enrollment_token()
    run_device(host_device, state, server.url, meter, token, readings=1)
    installation = the_installation(server)

    server.stop()
    device = subprocess.Popen(
        [str(host_device), "--server", server.url, "--meter", meter, "--state", str(state),
         "--interval-ms", "500", "--readings", "6", "--timeout-s", "90"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(4)  # readings are signed and queued on "flash" while the server is down
        server.start()
        out, _ = device.communicate(timeout=120)
    finally:
        stop(device)
    assert device.returncode == 0, out[-4000:]
    assert "SEND fail server unreachable" in out
    last_seq = int(re.search(r"^DONE seq=(\d+)", out, re.MULTILINE).group(1))
    assert last_seq >= 6
    readings = stored_readings(server, installation["id"])
    assert [(r["boot"], r["seq"]) for r in readings] == [(1, 1)] + [(2, seq) for seq in range(1, last_seq + 1)]
    assert all(r["status"] == "verified" for r in readings), [r["status"] for r in readings]


def test_gen2_meter_through_rpc_is_read_and_verified(host_device: Path, server: Server, tmp_path: Path) -> None:
    with simulated_meter(tmp_path, gen=2) as meter_url:
        run_device(host_device, tmp_path / "device", server.url, meter_url, server.enrollment_token(), readings=3,
                   gen=2)
    installation = the_installation(server)
    readings = stored_readings(server, installation["id"])
    assert [(r["boot"], r["seq"]) for r in readings] == [(1, 1), (1, 2), (1, 3)]
    assert all(r["status"] == "verified" for r in readings)
    assert all(21_700 <= r["total_wh"] < 21_800 for r in readings)
