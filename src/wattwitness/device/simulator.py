"""A simulated Shelly EM for demos and tests: a solar day on a deterministic clock, served over HTTP.

The production model is a pure function of simulated time (sun elevation for the place and date, cloud
dips drawn from an RNG seeded per day), so any instant can be recomputed. The energy counter integrates
that power in integer mW·ms on the simulated clock, so it is monotonic and consistent with the power the
meter reports. The HTTP side answers like a Shelly EM Gen1 (`/status`, `/shelly`) or a Gen2+ EM1 device
(`/rpc/...`, also as `POST /rpc` JSON-RPC), with a fixed MAC.
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from wattwitness.protocol import format_mac, parse_mac

from .solar import solar_elevation_deg

DEFAULT_MAC = "C45BBE5A1A01"
DEFAULT_LAT, DEFAULT_LON = 47.3769, 8.5417  # Zürich
INTEGRATION_STEP_MS = 10_000
_MS_PER_HOUR = 3_600_000


class Clock(Protocol):
    def now(self) -> float: ...


class SimClock:
    """Simulated Unix time: `start` plus real elapsed time times `speed`. Deterministic given the real clock."""

    def __init__(self, start: float | None = None, speed: float = 1.0,
                 real: Callable[[], float] = time.monotonic) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.start = time.time() if start is None else float(start)
        self.speed = speed
        self._real = real
        self._real_start = real()

    def now(self) -> float:
        return self.start + (self._real() - self._real_start) * self.speed


class ManualClock:
    """A clock that moves only when told: for tests that need exact instants."""

    def __init__(self, start: float) -> None:
        self._now = float(start)

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("time does not run backwards")
        self._now += seconds


@dataclass(frozen=True)
class SolarModel:
    """Power of a PV installation of `peak_w` at (lat, lon): a clear-sky bell times seeded cloud dips."""

    peak_w: float = 5000.0
    lat: float = DEFAULT_LAT
    lon: float = DEFAULT_LON
    seed: int = 1
    cloudiness: float = 0.35

    def clear_sky_fraction(self, ts: float) -> float:
        elevation = solar_elevation_deg(ts, self.lat, self.lon)
        if elevation <= 0:
            return 0.0
        # More air mass at low sun: output falls off faster than sin(elevation).
        return math.sin(math.radians(elevation)) ** 1.25

    def cloud_factor(self, ts: float) -> float:
        factor = 1.0
        for center, half_width, depth in _clouds(self.seed, int(ts // 86400), self.cloudiness):
            factor *= 1 - depth * math.exp(-(((ts - center) / half_width) ** 2))
        return factor

    def power_mw(self, ts: float) -> int:
        """Active power in mW, in whole 10 mW steps (the meter reports W with two decimals)."""
        watts = self.peak_w * self.clear_sky_fraction(ts) * self.cloud_factor(ts)
        return round(watts * 100) * 10


@lru_cache(maxsize=64)
def _clouds(seed: int, day: int, cloudiness: float) -> tuple[tuple[float, float, float], ...]:
    """The day's clouds as (center ts, half width s, depth 0..1), from an RNG seeded by (seed, day)."""
    rng = random.Random(f"wattwitness-sky:{seed}:{day}")
    count = rng.randint(0, max(0, round(16 * cloudiness)))
    return tuple((day * 86400 + rng.uniform(0, 86400), rng.uniform(120, 1500), rng.uniform(0.2, 0.85) * cloudiness)
                 for _ in range(count))


@dataclass(frozen=True, slots=True)
class MeterState:
    ts: float
    power_mw: int
    energy_mwh: int


class SimulatedMeter:
    """Integrates the model's power on the clock into a cumulative counter (trapezoids of at most 10 s)."""

    def __init__(self, model: SolarModel, clock: Clock, initial_energy_mwh: int = 0) -> None:
        self.model = model
        self.clock = clock
        self._lock = threading.Lock()
        self._t_ms = int(clock.now() * 1000)
        self._p_mw = model.power_mw(self._t_ms / 1000)
        # Twice the energy in mW·ms, so that each trapezoid (p0 + p1) * dt / 2 stays an exact integer.
        self._twice_mw_ms = initial_energy_mwh * 2 * _MS_PER_HOUR

    def state(self) -> MeterState:
        with self._lock:
            target = int(self.clock.now() * 1000)
            while self._t_ms < target:
                step_end = min(target, self._t_ms + INTEGRATION_STEP_MS)
                p_end = self.model.power_mw(step_end / 1000)
                self._twice_mw_ms += (self._p_mw + p_end) * (step_end - self._t_ms)
                self._t_ms, self._p_mw = step_end, p_end
            return MeterState(self._t_ms / 1000, self._p_mw, self._twice_mw_ms // (2 * _MS_PER_HOUR))


def _watts(milli: int, decimals: int) -> float:
    """mW or mWh to W or Wh, truncated to the decimals the device shows; float only for JSON output."""
    scale = 10 ** (3 - decimals)
    return (milli // scale) / 10**decimals


class ShellyAnswers:
    """The JSON bodies a Shelly EM of generation 1 or 2 gives, from the simulated meter's state."""

    CHANNELS = 2

    def __init__(self, meter: SimulatedMeter, gen: int, mac: bytes) -> None:
        if gen not in (1, 2):
            raise ValueError("gen must be 1 or 2")
        self.meter, self.gen, self.mac = meter, gen, mac

    def _voltage(self, ts: float) -> float:
        return round(230 + 2.5 * math.sin(ts / 900), 2)

    def gen1_status(self) -> dict[str, Any]:
        state = self.meter.state()
        moment = datetime.fromtimestamp(state.ts, UTC)
        voltage = self._voltage(state.ts)
        producing = {"power": _watts(state.power_mw, 2), "reactive": 0.0, "pf": 1.0 if state.power_mw else 0.0,
                     "voltage": voltage, "is_valid": True, "total": _watts(state.energy_mwh, 1),
                     "total_returned": 0.0}
        idle = {"power": 0.0, "reactive": 0.0, "pf": 0.0, "voltage": voltage, "is_valid": True, "total": 0.0,
                "total_returned": 0.0}
        return {"wifi_sta": {"connected": True, "ssid": "wattwitness-sim", "ip": "127.0.0.1", "rssi": -50},
                "cloud": {"enabled": False, "connected": False}, "mqtt": {"connected": False},
                "time": moment.strftime("%H:%M"), "unixtime": int(state.ts), "serial": 1,
                "has_update": False, "mac": format_mac(self.mac), "cfg_changed_cnt": 0,
                "relays": [{"ison": False, "has_timer": False, "overpower": False, "is_valid": True}],
                "emeters": [producing, idle], "uptime": 0}

    def gen1_shelly(self) -> dict[str, Any]:
        return {"type": "SHEM", "mac": format_mac(self.mac), "auth": False, "fw": "20230913-114150/v1.14.0-sim",
                "num_outputs": 1, "num_emeters": self.CHANNELS}

    def device_info(self) -> dict[str, Any]:
        mac = format_mac(self.mac)
        return {"name": "WattWitness simulator", "id": f"shellyproem50-{mac.lower()}", "mac": mac, "slot": 0,
                "model": "SPEM-002CEBEU50", "gen": 2, "fw_id": "20241011-114451/1.4.4-sim", "ver": "1.4.4",
                "app": "ProEM", "auth_en": False, "auth_domain": None}

    def em1_status(self, channel: int) -> dict[str, Any]:
        state = self.meter.state()
        power = _watts(state.power_mw, 1) if channel == 0 else 0.0
        voltage = round(self._voltage(state.ts), 1)
        return {"id": channel, "current": round(power / voltage, 3), "voltage": voltage, "act_power": power,
                "aprt_power": power, "pf": 1.0 if power else 0.0, "freq": 50.0, "calibration": "factory"}

    def em1_data(self, channel: int) -> dict[str, Any]:
        state = self.meter.state()
        return {"id": channel, "total_act_energy": _watts(state.energy_mwh, 2) if channel == 0 else 0.0,
                "total_act_ret_energy": 0.0}

    def sys_status(self) -> dict[str, Any]:
        state = self.meter.state()
        return {"mac": format_mac(self.mac), "restart_required": False,
                "time": datetime.fromtimestamp(state.ts, UTC).strftime("%H:%M"), "unixtime": int(state.ts),
                "uptime": 0, "available_updates": {}}

    def rpc(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """(HTTP status, body) for a Gen2 RPC call, with Shelly's error shapes."""
        if method == "Shelly.GetDeviceInfo":
            return 200, self.device_info()
        if method == "Sys.GetStatus":
            return 200, self.sys_status()
        if method in ("EM1.GetStatus", "EM1Data.GetStatus"):
            try:
                channel = int(params.get("id", 0))
            except (TypeError, ValueError):
                return 400, {"code": -103, "message": "Invalid argument 'id'!"}
            if not 0 <= channel < self.CHANNELS:
                return 500, {"code": -105, "message": f"Argument 'id', value {channel} not found!"}
            return 200, self.em1_status(channel) if method == "EM1.GetStatus" else self.em1_data(channel)
        return 404, {"code": -114, "message": f"Method {method} failed: No handler for {method}"}


class _Handler(BaseHTTPRequestHandler):
    server: _SimulatorHTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a meter polled every few seconds would flood the log."""

    def _send(self, status: int, body: dict[str, Any] | None, text: str = "") -> None:
        payload = json.dumps(body, separators=(",", ":")).encode() if body is not None else text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if body is not None else "text/plain")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        answers = self.server.answers
        url = urlsplit(self.path)
        params = {key: values[0] for key, values in parse_qs(url.query).items()}
        if answers.gen == 1:
            if url.path == "/status":
                return self._send(200, answers.gen1_status())
            if url.path == "/shelly":
                return self._send(200, answers.gen1_shelly())
            return self._send(404, None, "Not Found")
        if url.path == "/shelly":
            return self._send(200, answers.device_info())
        if url.path.startswith("/rpc/"):
            status, body = answers.rpc(url.path.removeprefix("/rpc/"), params)
            return self._send(status, body)
        return self._send(404, None, "Not Found")

    def do_POST(self) -> None:
        answers = self.server.answers
        if answers.gen != 2 or urlsplit(self.path).path != "/rpc":
            return self._send(HTTPStatus.NOT_FOUND, None, "Not Found")
        try:
            request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            method, params, call_id = request["method"], request.get("params") or {}, request.get("id")
        except (ValueError, KeyError, TypeError):
            return self._send(400, {"code": -32700, "message": "Parse error"})
        status, body = answers.rpc(method, params)
        key = "result" if status == 200 else "error"
        return self._send(200, {"id": call_id, "src": f"shellyproem50-{format_mac(answers.mac).lower()}", key: body})


class _SimulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], answers: ShellyAnswers) -> None:
        super().__init__(address, _Handler)
        self.answers = answers


class ShellySimulator:
    """An HTTP server that answers like a Shelly EM. `start()` returns once it listens; `url` is then set."""

    def __init__(self, *, gen: int = 1, model: SolarModel | None = None, clock: Clock | None = None,
                 mac: str = DEFAULT_MAC, host: str = "127.0.0.1", port: int = 0, initial_energy_mwh: int = 0) -> None:
        self.clock: Clock = clock or SimClock()
        self.model = model or SolarModel()
        self.meter = SimulatedMeter(self.model, self.clock, initial_energy_mwh)
        self.answers = ShellyAnswers(self.meter, gen, parse_mac(mac))
        self.host, self.port = host, port
        self._server: _SimulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ShellySimulator:
        self._server = _SimulatorHTTPServer((self.host, self.port), self.answers)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="shelly-simulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> ShellySimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
