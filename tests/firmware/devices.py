"""Helpers for the firmware end-to-end tests: free ports in this area's range, `wattwitness serve` and
`wattwitness simulate-meter` as subprocesses, running the host-built firmware, reading back what the server
stored."""

from __future__ import annotations

import os
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

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One API call; when the server does not answer, the failure shows its state and log."""
        try:
            return httpx.request(method, self.url + path, timeout=30, **kwargs)
        except httpx.HTTPError as err:
            state = "running" if self.process and self.process.poll() is None else "not running"
            log = (self.data_dir / "server.log").read_text(errors="replace")[-3000:]
            pytest.fail(f"{method} {path}: {err!r}; wattwitness serve is {state}; its log ends:\n{log}")

    def enrollment_token(self) -> str:
        answer = self.request("POST", "/api/v1/enrollment-tokens/",
                              headers={"Authorization": f"Bearer {self.admin_token}"})
        assert answer.status_code == 201, answer.text
        return str(answer.json()["token"])


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
    answer = server.request("GET", f"/api/v1/readings/{installation_id}", params={"limit": 1000})
    assert answer.status_code == 200, answer.text
    return sorted(answer.json()["readings"], key=lambda r: (r["boot"], r["seq"]))


def the_installation(server: Server) -> dict:
    answer = server.request("GET", "/api/v1/installations/")
    assert answer.status_code == 200, answer.text
    installations = answer.json()
    assert len(installations) == 1, installations
    return installations[0]
