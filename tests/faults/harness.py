"""What the fault tests share: a real `wattwitness serve` process that can be SIGKILLed and restarted, a
simulated meter and a real agent, and the closing check that the server holds each record exactly once
in a whole chain (export + verify_chain)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import ADMIN_TOKEN
from tests.ports import free_port
from wattwitness.device.agent import Agent, AgentConfig
from wattwitness.device.enrollment import enroll
from wattwitness.device.server_api import ServerApi
from wattwitness.device.shelly import create_meter
from wattwitness.device.signer import SoftwareSigner, generate_key_file
from wattwitness.device.simulator import ShellySimulator, SimClock, SolarModel
from wattwitness.protocol import ChainReport, verify_chain

SIM_MAC = "C45BBE5A1A77"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def wait_until(condition: Callable[[], bool], timeout: float, what: str, step: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class ServerProcess:
    """`wattwitness serve` on a fixed port (so the agent's URL survives restarts); migrates on start."""

    def __init__(self, database_url: str, data_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "WATTWITNESS_DATABASE_URL": database_url, "WATTWITNESS_ADMIN_TOKEN": ADMIN_TOKEN,
                    "WATTWITNESS_DATA_DIR": str(data_dir), "WATTWITNESS_BACKGROUND_TASKS": "false"}
        self.log = data_dir / "server.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.kills = 0

    def start(self) -> ServerProcess:
        wattwitness = Path(sys.executable).with_name("wattwitness")
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([str(wattwitness), "serve", "--port", str(self.port)], env=self.env,
                                            stdout=log, stderr=subprocess.STDOUT)
        wait_until(self._ready, 60, "the server to answer /health")
        return self

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"server exited: {self.log.read_text()[-2000:]}")
        try:
            return httpx.get(self.url + "/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.kills += 1

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def simulator(start: float, speed: float) -> ShellySimulator:
    """A sunny Gen1 meter whose clock starts at `start` and runs `speed` times faster than real time."""
    minutes_utc = (start % 86400) / 60
    noon_longitude = ((720 - minutes_utc) / 4 + 180) % 360 - 180
    sim = ShellySimulator(gen=1, model=SolarModel(peak_w=4000, lat=0.0, lon=noon_longitude, cloudiness=0.2),
                          clock=SimClock(start=start, speed=speed), mac=SIM_MAC, initial_energy_mwh=5_000_000)
    sim.start()
    return sim


class Device:
    """A key file, its enrollment on the server, and agents started on a state directory."""

    def __init__(self, root: Path, server_url: str, meter_url: str) -> None:
        self.root = root
        self.key = root / "device.pem"
        generate_key_file(self.key)
        self.server_url = server_url
        self.meter_url = meter_url
        self.public_key = SoftwareSigner.from_key_file(self.key).public_key

    def enroll(self) -> int:
        token = httpx.post(self.server_url + "/api/v1/enrollment-tokens/", headers=ADMIN, timeout=10).json()["token"]
        meter = create_meter(self.meter_url, gen=1)
        api = ServerApi(self.server_url)
        try:
            result = enroll(api, token, SoftwareSigner.from_key_file(self.key), meter, name="fault park",
                            capacity_w=10_000)
        finally:
            meter.shutdown()
        return int(result.installation["id"])

    def agent(self, state: Path, **overrides: Any) -> Agent:
        settings: dict[str, Any] = {"interval": 0.05, "backoff_initial": 0.1, "backoff_max": 0.5,
                                    "server_timeout": 3.0, **overrides}
        config = AgentConfig(server_url=self.server_url, meter_url=self.meter_url, state_dir=state, **settings)
        return Agent(config, SoftwareSigner.from_key_file(self.key, state))


def export_items(server_url: str, installation_id: int) -> list[tuple[bytes, bytes]]:
    response = httpx.get(f"{server_url}/api/v1/readings/{installation_id}/export?format=jsonl", timeout=60)
    assert response.status_code == 200, response.text
    items = []
    for line in response.text.splitlines():
        item = json.loads(line)
        items.append((bytes.fromhex(item["record"]), bytes.fromhex(item["signature"])))
    return items


def assert_whole_chain(server_url: str, installation_id: int, public_key: bytes, expected: int,
                       chain_restarts: int = 0) -> ChainReport:
    """The server holds exactly `expected` records, each (boot, seq) once, all verified, no gap or break."""
    items = export_items(server_url, installation_id)
    positions = [(int.from_bytes(r[10:14], "big"), int.from_bytes(r[14:18], "big")) for r, _ in items]
    assert len(positions) == len(set(positions)), "a (boot, seq) is stored twice"
    report = verify_chain(items, public_key)
    assert report.total == expected, report.summary()
    assert (report.invalid, report.chain_breaks, report.gaps) == (0, 0, chain_restarts), \
        (report.summary(), report.problems[:5])
    assert report.verified == expected, report.summary()
    return report
