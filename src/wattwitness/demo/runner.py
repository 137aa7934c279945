"""Runs the demo: server, meter simulator, enrolled installation, signing agent, embedded chain.

Everything lives under one data directory, so running the demo again continues the same installation
(same key, same database, same chain head): the history is extended from where it stopped, not redone.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from wattwitness.demo.history import SteppedMeter
from wattwitness.device.agent import Agent, AgentConfig
from wattwitness.device.enrollment import enroll
from wattwitness.device.server_api import ServerApi
from wattwitness.device.signer import SoftwareSigner, generate_key_file
from wattwitness.device.simulator import DEFAULT_MAC, ShellySimulator, SimClock, SolarModel
from wattwitness.logs import configure_logging
from wattwitness.protocol import key_id, parse_mac

log = logging.getLogger("wattwitness.demo")


@dataclass
class DemoConfig:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8000
    history_days: float = 7.0
    history_interval_s: int = 300
    anchor_interval_s: float = 30.0
    live_interval_s: float = 10.0
    peak_w: float = 5000.0
    timezone: str = "Europe/Zurich"
    name: str = "Demo solar park (simulated)"


class DemoError(RuntimeError):
    """Something the person running the demo can act on (port taken, server did not start)."""


class Demo:
    def __init__(self, config: DemoConfig) -> None:
        self.config = config
        self.data = config.data_dir
        self.url = f"http://{config.host}:{config.port}"
        self._server: subprocess.Popen[bytes] | None = None
        self._chain: subprocess.Popen[str] | None = None
        self._stop = threading.Event()
        self._parts: list[Any] = []

    # ---- files that make the demo resumable ---------------------------------------------------------

    def _admin_token(self) -> str:
        path = self.data / "admin-token"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        return path.read_text().strip()

    def _signer(self) -> SoftwareSigner:
        key = self.data / "device.key"
        if not key.exists():
            generate_key_file(key)
        return SoftwareSigner.from_key_file(key, self.data / "agent")

    # ---- the pieces ---------------------------------------------------------------------------------

    def _server_env(self, token: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "WATTWITNESS_DATA_DIR": str(self.data),
            "WATTWITNESS_DATABASE_URL": f"sqlite:///{(self.data / 'wattwitness.db').resolve()}",
            "WATTWITNESS_ADMIN_TOKEN": token,
            "WATTWITNESS_DEMO": "true",
        })
        return env

    def start_server(self, token: str) -> None:
        try:
            httpx.get(f"{self.url}/health", timeout=1)
        except httpx.HTTPError:
            pass
        else:
            raise DemoError(f"something already answers on {self.url}; stop it or pass --port")
        log_file = (self.data / "server.log").open("ab")
        self._server = subprocess.Popen(
            [sys.executable, "-m", "wattwitness.cli", "serve", "--host", self.config.host,
             "--port", str(self.config.port)],
            env=self._server_env(token), stdout=log_file, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._server.poll() is not None:
                raise DemoError(f"the server exited with {self._server.returncode}; see {self.data / 'server.log'}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise DemoError(f"the server did not answer /health within 60 s; see {self.data / 'server.log'}")

    def installation(self, token: str, signer: SoftwareSigner, meter_mac: bytes) -> dict[str, Any]:
        """Enrolls the simulated meter once; later runs find it by key id."""
        found = httpx.get(f"{self.url}/api/v1/installations/", params={"key_id": key_id(signer.public_key)},
                          timeout=10).json()
        items = found if isinstance(found, list) else found.get("installations", [])
        if items:
            return dict(items[0])
        meter = SteppedMeter(SolarModel(peak_w=self.config.peak_w), meter_mac, int(time.time()),
                             int(time.time()), 1, 0)
        api = ServerApi(self.url)
        try:
            result = enroll(api, token, signer, meter, name=self.config.name, timezone=self.config.timezone,
                            capacity_w=int(self.config.peak_w))
        finally:
            api.close()
        return result.installation

    def start_chain(self, token: str) -> None:
        """The embedded chain and its relayer run in one process (the EVM is in memory); its lines are echoed
        with a `[chain]` prefix so that anchors and minted tokens show up as they happen."""
        chain = subprocess.Popen(
            [sys.executable, "-m", "wattwitness.cli", "chain", "run", "--interval", str(self.config.anchor_interval_s),
             "--api-url", self.url],
            env=self._server_env(token), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
        )
        self._chain = chain

        def echo() -> None:
            assert chain.stdout is not None
            with (self.data / "chain.log").open("a") as log_file:
                for line in chain.stdout:
                    log_file.write(line)
                    log_file.flush()
                    print(f"[chain] {line.rstrip()}", flush=True)

        threading.Thread(target=echo, name="chain-echo", daemon=True).start()

    def latest(self, installation_id: int) -> dict[str, Any] | None:
        response = httpx.get(f"{self.url}/api/v1/readings/latest/{installation_id}", timeout=10)
        return dict(response.json()) if response.status_code == 200 else None

    def write_history(self, signer_factory: Any, meter_mac: bytes, latest: dict[str, Any] | None) -> int:
        """Signs the readings from where the history stops (or `history_days` ago) up to now, and sends them."""
        now = int(time.time())
        step = self.config.history_interval_s
        start = now - int(self.config.history_days * 86400)
        energy = 0
        if latest is not None:
            start = max(start, int(latest["timestamp"]) + step)
            energy = round(float(latest["total_wh"]) * 1000)
        if start > now - step:
            return energy
        meter = SteppedMeter(SolarModel(peak_w=self.config.peak_w), meter_mac, start, now, step, energy)
        count = meter.remaining
        print(f"writing {count} signed readings of history ({(now - start) / 86400:.1f} days at {step} s) ...",
              flush=True)
        config = AgentConfig(server_url=self.url, meter_url="simulated://history", state_dir=self.data / "agent",
                             interval=0.0, max_records=count, batch_max=2000)
        agent = Agent(config, signer_factory(), meter=meter)
        agent.start()
        try:
            last_report = time.monotonic()
            while not agent.wait(timeout=2):
                if self._stop.is_set():
                    break
                if time.monotonic() - last_report > 5:
                    print(f"  signed {agent.signed}/{count}, delivered {agent.delivered}", flush=True)
                    last_report = time.monotonic()
        finally:
            agent.stop()
        return meter.last_energy_mwh

    def run(self) -> int:
        configure_logging(level="WARNING")
        self.data.mkdir(parents=True, exist_ok=True)
        token = self._admin_token()
        meter_mac = parse_mac(DEFAULT_MAC)
        signal.signal(signal.SIGTERM, lambda *_: self._stop.set())
        try:
            self.start_server(token)
            print(f"server: {self.url} (log: {self.data / 'server.log'})", flush=True)
            signer = self._signer()
            installation = self.installation(token, signer, meter_mac)
            signer.close()
            installation_id = int(installation["id"])
            energy = self.write_history(self._signer, meter_mac, self.latest(installation_id))
            if self._stop.is_set():
                return 0
            simulator = ShellySimulator(gen=1, model=SolarModel(peak_w=self.config.peak_w),
                                        clock=SimClock(), initial_energy_mwh=energy).start()
            self._parts.append(simulator)
            live = Agent(AgentConfig(server_url=self.url, meter_url=simulator.url, state_dir=self.data / "agent",
                                     interval=self.config.live_interval_s), self._signer())
            live.start()
            self._parts.append(live)
            self._announce(installation_id, token, simulator.url)
            self.start_chain(token)
            while not self._stop.wait(1):
                if self._server is not None and self._server.poll() is not None:
                    raise DemoError(f"the server stopped ({self._server.returncode}); see {self.data / 'server.log'}")
        except KeyboardInterrupt:
            pass
        except DemoError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        finally:
            self.shutdown()
        return 0

    def _announce(self, installation_id: int, token: str, meter_url: str) -> None:
        (self.data / "demo.json").write_text(json.dumps(
            {"url": self.url, "installation_id": installation_id, "meter": meter_url}, indent=2))
        print(f"""
WattWitness demo is running.
  dashboard:     {self.url}/?installation={installation_id}
  API docs:      {self.url}/docs
  admin token:   {token}
  meter (sim):   {meter_url}
  data:          {self.data}
Ctrl-C stops everything; `make demo` again continues the same installation.
""", flush=True)

    def shutdown(self) -> None:
        self._stop.set()
        for part in reversed(self._parts):
            part.stop()
        self._parts.clear()
        for process in (self._chain, self._server):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
        print("demo stopped.", flush=True)
