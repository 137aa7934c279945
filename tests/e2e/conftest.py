"""End-to-end harness: the real `wattwitness serve` on a temporary SQLite database, fed a signed history
through the public API, and the dashboard opened in Debian's headless Chromium via Playwright."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.history import PUBLIC_KEY, SignedHistory, build_history, enrollment
from tests.ports import free_port

REPO = Path(__file__).resolve().parents[2]
STATIC_INDEX = REPO / "src" / "wattwitness" / "server" / "static" / "index.html"
ARTIFACTS = REPO / "test-artifacts"
ZONE = "Europe/Berlin"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@dataclass
class Server:
    url: str
    admin_token: str
    log: Path

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60)


@dataclass
class Installation:
    id: int
    history: SignedHistory
    now: int


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"wattwitness serve exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    pytest.fail(f"wattwitness serve did not answer /health within {timeout_s} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not STATIC_INDEX.exists():
        pytest.fail("the dashboard is not built: run `make frontend` (npm ci && npm run build in frontend/)")
    data_dir = tmp_path_factory.mktemp("e2e-server")
    port = free_port()
    token = secrets.token_urlsafe(32)
    env = {
        **os.environ,
        "WATTWITNESS_DATA_DIR": str(data_dir),
        "WATTWITNESS_DATABASE_URL": f"sqlite:///{data_dir / 'wattwitness.db'}",
        "WATTWITNESS_ADMIN_TOKEN": token,
        # The internet probe must not leave this machine during tests: it probes the server itself.
        "WATTWITNESS_INTERNET_PROBE_TARGET": f"127.0.0.1:{port}",
        "WATTWITNESS_INTERNET_PROBE_INTERVAL_S": "2",
        # The history's device reads every 60 s (older days every 300 s): only longer silences are gaps.
        "WATTWITNESS_READING_INTERVAL_S": "300",
    }
    log = data_dir / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "wattwitness.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=data_dir, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, log)
        yield Server(url, token, log)
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def installation(server: Server) -> Installation:
    """Enrolls the vector key's device and posts eight days of signed readings through the batch API."""
    now = int(time.time())
    record, signature = enrollment(now - 9 * 86_400)
    with server.client() as client:
        created = client.post(
            "/api/v1/installations/",
            headers={"Authorization": f"Bearer {server.admin_token}"},
            json={
                "name": "E2E Rooftop",
                "public_key": PUBLIC_KEY.hex(),
                "enrollment_record": record.hex(),
                "enrollment_signature": signature.hex(),
                "timezone": ZONE,
                "capacity_w": 5000,
            },
        )
        assert created.status_code in (200, 201), created.text
        installation_id = int(created.json()["id"])
        history = build_history(now, ZONE)
        for start in range(0, len(history.items), 2000):
            chunk = history.items[start:start + 2000]
            answer = client.post("/api/v1/readings/batch", json={
                "readings": [{"record": r.hex(), "signature": s.hex()} for r, s in chunk]})
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert body["rejected"] == 0, [r for r in body["results"] if r["outcome"] not in
                                           ("verified", "gap", "counter_reset", "duplicate")][:3]
    return Installation(installation_id, history, now)


def _start(args: list[str], log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "wattwitness.cli", *args], cwd=cwd,
                                stdout=out, stderr=subprocess.STDOUT)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@dataclass
class SimulatedInstallation:
    id: int
    mac: str


SIMULATED_NAME = "E2E Simulated Shelly"
SIMULATED_MAC = "C45BBE5A1A01"


@pytest.fixture(scope="session")
def simulated_installation(server: Server, installation: Installation,
                           tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatedInstallation]:
    """A second installation fed the way a park is: a simulated Shelly EM, enrolled and read by the real
    signing agent every second (the device side's `simulate-meter`, `keygen`, `enroll`, `agent`)."""
    work = tmp_path_factory.mktemp("e2e-device")
    meter_port = free_port()
    meter = _start(["simulate-meter", "--port", str(meter_port), "--mac", SIMULATED_MAC, "--seed", "7"],
                   work / "meter.log", work)
    agent: subprocess.Popen[bytes] | None = None
    try:
        meter_url = f"http://127.0.0.1:{meter_port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{meter_url}/status", timeout=2)
                break
            except httpx.HTTPError:
                if meter.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"simulate-meter did not start:\n{(work / 'meter.log').read_text()[-2000:]}")
                time.sleep(0.2)
        key = work / "device.pem"
        for args in (["keygen", "--out", str(key)],
                     ["enroll", "--server", server.url, "--token", server.admin_token, "--meter", meter_url,
                      "--name", SIMULATED_NAME, "--key", str(key), "--timezone", "Europe/Zurich",
                      "--capacity-w", "5000"]):
            done = subprocess.run([sys.executable, "-m", "wattwitness.cli", *args], cwd=work, capture_output=True,
                                  text=True, timeout=60)
            assert done.returncode == 0, f"wattwitness {args[0]} failed:\n{done.stdout}\n{done.stderr}"
        agent = _start(["agent", "--server", server.url, "--meter", meter_url, "--state", str(work / "state"),
                        "--key", str(key), "--interval", "1"], work / "agent.log", work)
        listed = httpx.get(f"{server.url}/api/v1/installations/", timeout=30).json()
        found = [item for item in listed if item["name"] == SIMULATED_NAME]
        assert found, listed
        yield SimulatedInstallation(int(found[0]["id"]), SIMULATED_MAC)
    finally:
        if agent is not None:
            _stop(agent)
        _stop(meter)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import expect, sync_playwright

    # The machine is shared by parallel suites: assertions wait for their condition up to 15 s (the
    # live-update test keeps its own 2 s budget).
    expect.set_options(timeout=15_000)

    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is not installed: run `make chromium` (apt-get install chromium)")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
